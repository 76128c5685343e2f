package coalesce_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ufocache/ufocache/coalesce"
)

// A Group in front of a small store: callers that arrive while the fetch
// runs share it, and callers that arrive after it find its result through
// Recheck, so a hundred callers cost one fetch.
func Example() {
	var mu sync.Mutex
	store := map[string]string{}
	g, err := coalesce.New(coalesce.Options[string, string]{
		LockTimeout: time.Second,
		LoadTimeout: 5 * time.Second,
		Recheck: func(key string) (string, bool, error) {
			mu.Lock()
			defer mu.Unlock()
			v, ok := store[key]
			return v, ok, nil
		},
		Commit: func(key, v string, err error) func() {
			if err == nil {
				mu.Lock()
				store[key] = v
				mu.Unlock()
			}
			return nil
		},
	})
	if err != nil {
		panic(err)
	}
	var fetches atomic.Int32
	fetch := func(ctx context.Context) (string, error) {
		fetches.Add(1)
		return "v42", nil // an expensive call in real life
	}
	get := func(key string) (string, error) {
		mu.Lock()
		v, ok := store[key]
		mu.Unlock()
		if ok {
			return v, nil
		}
		v, _, err := g.Do(context.Background(), key, fetch)
		return v, err
	}

	var wg sync.WaitGroup
	var got sync.Map
	for range 100 {
		wg.Go(func() {
			v, err := get("config")
			got.Store(fmt.Sprintf("%s %v", v, err), true)
		})
	}
	wg.Wait()
	got.Range(func(k, _ any) bool { fmt.Println("answer:", k); return true })
	fmt.Println("fetches:", fetches.Load())
	fmt.Println("in flight:", g.Len())
	// Output:
	// answer: v42 <nil>
	// fetches: 1
	// in flight: 0
}

// A panic in the function reaches every caller as a *PanicError, and the
// key is free again at once.
func ExampleGroup_Do_panic() {
	g, _ := coalesce.New(coalesce.Options[string, int]{})
	func() {
		defer func() {
			p := recover().(*coalesce.PanicError)
			fmt.Println("the leader panicked again with:", p.Value)
		}()
		g.Do(context.Background(), "k", func(context.Context) (int, error) { panic("bug") })
	}()
	v, leader, err := g.Do(context.Background(), "k", func(context.Context) (int, error) { return 1, nil })
	fmt.Println(v, leader, err)
	// Output:
	// the leader panicked again with: bug
	// 1 true <nil>
}
