package coalesce_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ufocache/ufocache/coalesce"
)

// TestCommitsFollowStartOrder runs random Do, DoBatch, Go and Forget
// callers on two keys under LockAge (and random LockTimeout, LoadTimeout,
// Recheck), each function returning the ordinal of its start, and checks
// on the record of starts, commits and Forgets (Forget's f and Commit run
// under the same lock):
//   - a key's committed values only ever grow: no result is committed
//     after a younger call's (a call's function starts after its claim,
//     and a call supersedes another only LockAge after it, by which time
//     the other's function has started in the bubble);
//   - no value is committed after a Forget of its key that came after its
//     function started (the call was claimed before it: detached, or its
//     line ended).
func TestCommitsFollowStartOrder(t *testing.T) {
	for seed := range uint64(300) {
		synctest.Test(t, func(t *testing.T) { commitOrder(t, seed) })
		if t.Failed() {
			t.Fatalf("seed %d", seed)
		}
	}
}

type orderEvent struct {
	kind string // "start", "commit", "forget"
	key  string
	v    int
}

func commitOrder(t *testing.T, seed uint64) {
	r := rand.New(rand.NewPCG(seed, 7))
	ms := time.Millisecond
	var mu sync.Mutex
	var events []orderEvent
	var ordinal int
	rec := func(e orderEvent) {
		mu.Lock()
		events = append(events, e)
		mu.Unlock()
	}
	opts := coalesce.Options[string, int]{
		LockAge:     []time.Duration{2 * ms, 5 * ms}[r.IntN(2)],
		LockTimeout: []time.Duration{0, 3 * ms}[r.IntN(2)],
		LoadTimeout: []time.Duration{0, 8 * ms, 30 * ms}[r.IntN(3)],
		Commit: func(k string, v int, err error) func() {
			if err == nil {
				rec(orderEvent{"commit", k, v})
			}
			return nil
		},
	}
	if r.IntN(2) == 0 {
		var rmu sync.Mutex
		rr := rand.New(rand.NewPCG(seed, 8))
		opts.Recheck = func(k string) (int, bool, error) {
			rmu.Lock()
			defer rmu.Unlock()
			return -1, rr.IntN(4) == 0, nil
		}
	}
	g := newGroup(t, opts)
	start := func(keys ...string) int {
		mu.Lock()
		defer mu.Unlock()
		ordinal++
		for _, k := range keys {
			events = append(events, orderEvent{"start", k, ordinal})
		}
		return ordinal
	}
	boom := errors.New("boom")
	behave := func(b int) (fail bool) {
		switch b % 5 {
		case 1:
			return true
		case 2:
			time.Sleep(time.Duration(1+b%13) * ms)
		case 3:
			time.Sleep(time.Duration(5+b%31) * ms)
		case 4:
			runtime.Gosched()
		}
		return false
	}
	fn := func(k string, b int) func(context.Context) (int, error) {
		return func(context.Context) (int, error) {
			v := start(k)
			if behave(b) {
				return v, boom
			}
			return v, nil
		}
	}
	keys := []string{"a", "b"}
	var wg sync.WaitGroup
	for range 40 {
		k := keys[r.IntN(2)]
		b := r.IntN(1000)
		switch op := r.IntN(10); {
		case op < 4:
			wg.Go(func() { g.Do(context.Background(), k, fn(k, b)) })
		case op < 5:
			ctx, cancel := context.WithTimeout(context.Background(), ms)
			wg.Go(func() { defer cancel(); g.Do(ctx, k, fn(k, b)) })
		case op < 6:
			ks := []string{"a", "b"}
			wg.Go(func() {
				g.DoBatch(context.Background(), ks, func(_ context.Context, ks []string) ([]coalesce.Result[int], error) {
					v := start(ks...)
					if behave(b) {
						return nil, boom
					}
					res := make([]coalesce.Result[int], len(ks))
					for i := range res {
						res[i].Val = v
					}
					return res, nil
				})
			})
		case op < 7:
			g.Go(context.Background(), k, fn(k, b))
		case op < 8:
			g.Forget(k, func() { rec(orderEvent{"forget", k, 0}) }) // under k's lock, as Commit
		default:
			time.Sleep(time.Duration(r.IntN(4)) * ms)
		}
	}
	wg.Wait()
	time.Sleep(time.Second)
	synctest.Wait()
	mu.Lock()
	defer mu.Unlock()
	for _, k := range keys {
		last := 0
		startedAt := map[int]int{}
		lastForget := -1
		var log []string
		for i, e := range events {
			if e.key != k {
				continue
			}
			log = append(log, fmt.Sprintf("%s %d", e.kind, e.v))
			switch e.kind {
			case "start":
				startedAt[e.v] = i
			case "forget":
				lastForget = i
			case "commit":
				if e.v == -1 {
					continue
				}
				if e.v <= last {
					t.Errorf("key %s: %d committed after %d\n%v", k, e.v, last, log)
					return
				}
				if s, ok := startedAt[e.v]; !ok || s < lastForget {
					t.Errorf("key %s: %d (started at event %d) committed after a Forget at event %d\n%v", k, e.v, s, lastForget, log)
					return
				}
				last = e.v
			}
		}
	}
}
