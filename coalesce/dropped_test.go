package coalesce_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ufocache/ufocache/coalesce"
)

// Dropped hears of each value a function returned without an error that
// no Commit stored, once, before the callers of a detached call wake: a
// call Forget detached, a call that returned past LoadTimeout, and the
// keys of a batch that did. Not a committed value, an error, a detached
// call's error, nor a batch of the wrong size.
func TestDroppedHearsOfEachValueNotCommitted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		var committed, dropped []string
		g, err := coalesce.New(coalesce.Options[string, string]{
			LoadTimeout: time.Second,
			Commit: func(k, v string, err error) func() {
				if err == nil {
					mu.Lock()
					committed = append(committed, v)
					mu.Unlock()
				}
				return nil
			},
			Dropped: func(k, v string) func() {
				return func() {
					mu.Lock()
					dropped = append(dropped, k+"="+v)
					mu.Unlock()
				}
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		value := func(v string, after time.Duration, err error) func(context.Context) (string, error) {
			return func(context.Context) (string, error) {
				time.Sleep(after)
				return v, err
			}
		}
		g.Do(ctx, "stored", value("s", 0, nil))
		g.Do(ctx, "failed", value("f", 0, errors.New("down")))

		// Detached: its caller gets the value after Dropped heard of it.
		got := make(chan string, 1)
		go func() { v, _, _ := g.Do(ctx, "detached", value("d", 500*time.Millisecond, nil)); got <- v }()
		go g.Do(ctx, "detachedErr", value("e", 500*time.Millisecond, errors.New("down")))
		synctest.Wait()
		g.Forget("detached", nil)
		g.Forget("detachedErr", nil)
		v := <-got
		mu.Lock()
		heard := slices.Contains(dropped, "detached=d")
		mu.Unlock()
		if v != "d" || !heard {
			t.Errorf("detached call: its caller got %q, Dropped heard of it first: %v", v, heard)
		}

		// Past LoadTimeout, alone and in a batch.
		if _, _, err := g.Do(ctx, "late", value("l", 2*time.Second, nil)); !errors.Is(err, coalesce.ErrLoadTimeout) {
			t.Fatalf("late call: %v, want ErrLoadTimeout", err)
		}
		batch := func(n int) func(context.Context, []string) ([]coalesce.Result[string], error) {
			return func(_ context.Context, keys []string) ([]coalesce.Result[string], error) {
				time.Sleep(2 * time.Second)
				out := make([]coalesce.Result[string], n)
				for i := range out {
					out[i].Val = "b" + keys[min(i, len(keys)-1)]
				}
				out[0].Err = errors.New("down")
				return out, nil
			}
		}
		g.DoBatch(ctx, []string{"x", "y", "z"}, batch(3))
		g.DoBatch(ctx, []string{"p", "q"}, batch(3)) // wrong size: the values match no keys
		time.Sleep(3 * time.Second)
		synctest.Wait()

		mu.Lock()
		defer mu.Unlock()
		slices.Sort(dropped)
		if want := []string{"detached=d", "late=l", "y=by", "z=bz"}; !slices.Equal(dropped, want) {
			t.Errorf("Dropped heard of %v, want %v", dropped, want)
		}
		if want := []string{"s"}; !slices.Equal(committed, want) {
			t.Errorf("Commit stored %v, want %v", committed, want)
		}
	})
}
