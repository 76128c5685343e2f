package coalesce_test

import (
	"context"
	"errors"
	"maps"
	"runtime"
	"runtime/debug"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ufocache/ufocache/coalesce"
)

func TestDoBatchJoinsAndBatchesTheRest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		committed := map[string]int{}
		g := newGroup(t, coalesce.Options[string, int]{
			Recheck: func(k string) (int, bool, error) {
				mu.Lock()
				defer mu.Unlock()
				v, ok := committed[k]
				return v, ok, nil
			},
			Commit: func(k string, v int, err error) func() {
				if err == nil {
					mu.Lock()
					committed[k] = v
					mu.Unlock()
				}
				return nil
			},
		})
		committed["cached"] = 100
		// "b" is in flight from a single caller.
		gate := make(chan struct{})
		go g.Do(context.Background(), "b", func(context.Context) (int, error) { <-gate; return 20, nil })
		synctest.Wait()

		var batches [][]string
		fn := func(_ context.Context, keys []string) ([]coalesce.Result[int], error) {
			batches = append(batches, slices.Clone(keys))
			out := make([]coalesce.Result[int], len(keys))
			for i, k := range keys {
				if k == "bad" {
					out[i].Err = errors.New("no such key")
					continue
				}
				out[i].Val = int(k[0])
			}
			return out, nil
		}
		res := make(chan []coalesce.Result[int], 1)
		go func() {
			res <- g.DoBatch(context.Background(), []string{"a", "b", "cached", "bad", "a", "c"}, fn)
		}()
		synctest.Wait()
		// While the batch waits for "b", a single caller of "c" joins the
		// batch's call for "c" (it finished already: it finds the commit).
		v, leader, err := g.Do(context.Background(), "c", func(context.Context) (int, error) { return -1, nil })
		if v != 'c' || leader || err != nil {
			t.Fatalf("Do(c) = (%d, %v, %v), want ('c', false, nil)", v, leader, err)
		}
		close(gate)
		got := <-res
		if len(batches) != 1 || !slices.Equal(batches[0], []string{"a", "bad", "c"}) {
			t.Fatalf("batches = %v, want [[a bad c]]", batches)
		}
		want := []struct {
			v      int
			leader bool
			err    bool
		}{{'a', true, false}, {20, false, false}, {100, false, false}, {0, true, true}, {'a', true, false}, {'c', true, false}}
		for i, w := range want {
			r := got[i]
			if r.Val != w.v || r.Leader != w.leader || (r.Err != nil) != w.err {
				t.Errorf("result %d = %+v, want %+v", i, r, w)
			}
		}
		if n := g.Len(); n != 0 {
			t.Errorf("Len after = %d, want 0", n)
		}
	})
}

func TestDoBatchSingleCallerJoinsRunningBatch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := newGroup(t, coalesce.Options[string, int]{})
		gate := make(chan struct{})
		calls := 0
		fn := func(_ context.Context, keys []string) ([]coalesce.Result[int], error) {
			calls++
			<-gate
			return []coalesce.Result[int]{{Val: 1}, {Val: 2}}, nil
		}
		done := make(chan []coalesce.Result[int], 1)
		go func() { done <- g.DoBatch(context.Background(), []string{"x", "y"}, fn) }()
		synctest.Wait()
		single := make(chan int, 1)
		go func() {
			v, _, _ := g.Do(context.Background(), "y", func(context.Context) (int, error) { return -1, nil })
			single <- v
		}()
		synctest.Wait()
		close(gate)
		if v := <-single; v != 2 {
			t.Fatalf("single caller of y got %d, want 2 from the batch", v)
		}
		if r := <-done; r[0].Val != 1 || r[1].Val != 2 {
			t.Fatalf("batch got %+v", r)
		}
		if calls != 1 {
			t.Errorf("batch fn ran %d times, want 1", calls)
		}
	})
}

func TestDoBatchWrongLength(t *testing.T) {
	g := newGroup(t, coalesce.Options[int, int]{})
	for _, n := range []int{0, 1, 3} {
		res := g.DoBatch(context.Background(), []int{1, 2}, func(context.Context, []int) ([]coalesce.Result[int], error) {
			return make([]coalesce.Result[int], n), nil
		})
		for i, r := range res {
			if !errors.Is(r.Err, coalesce.ErrBatchSize) {
				t.Errorf("%d results: key %d got %v, want ErrBatchSize", n, i, r.Err)
			}
		}
	}
	if n := g.Len(); n != 0 {
		t.Errorf("Len after = %d, want 0", n)
	}
}

func TestDoBatchFailures(t *testing.T) {
	errBatch := errors.New("batch down")
	cases := []struct {
		name string
		fn   func(context.Context, []int) ([]coalesce.Result[int], error)
		want func(error) bool
	}{
		{
			"error", func(context.Context, []int) ([]coalesce.Result[int], error) { return nil, errBatch },
			func(err error) bool { return err == errBatch },
		},
		{
			"goexit", func(context.Context, []int) ([]coalesce.Result[int], error) { runtime.Goexit(); return nil, nil },
			func(err error) bool { return err == coalesce.ErrGoexit },
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := newGroup(t, coalesce.Options[int, int]{})
			for i, r := range g.DoBatch(context.Background(), []int{1, 2, 3}, tc.fn) {
				if !tc.want(r.Err) {
					t.Errorf("key %d got %v", i, r.Err)
				}
			}
			if n := g.Len(); n != 0 {
				t.Errorf("Len after = %d, want 0", n)
			}
		})
	}
}

func TestDoBatchPanicRepanics(t *testing.T) {
	g := newGroup(t, coalesce.Options[int, int]{})
	func() {
		defer func() {
			if p, ok := recover().(*coalesce.PanicError); !ok || p.Value != "batch boom" {
				t.Fatalf("DoBatch panicked with %v, want *PanicError{batch boom}", p)
			}
		}()
		g.DoBatch(context.Background(), []int{1, 2}, func(context.Context, []int) ([]coalesce.Result[int], error) {
			panic("batch boom")
		})
		t.Fatal("DoBatch returned")
	}()
	if n := g.Len(); n != 0 {
		t.Fatalf("Len after = %d, want 0", n)
	}
	res := g.DoBatch(context.Background(), []int{1, 2}, func(context.Context, []int) ([]coalesce.Result[int], error) {
		return []coalesce.Result[int]{{Val: 1}, {Val: 2}}, nil
	})
	if res[0].Val != 1 || res[1].Val != 2 {
		t.Fatalf("DoBatch after the panic = %+v", res)
	}
}

func TestDoBatchTimeouts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := newGroup(t, coalesce.Options[string, int]{LockTimeout: time.Second, LoadTimeout: 3 * time.Second})
		hang := make(chan struct{})
		// "joined" is held by a single caller whose fn hangs.
		go g.Do(context.Background(), "joined", func(context.Context) (int, error) { <-hang; return 0, nil })
		synctest.Wait()
		start := time.Now()
		res := g.DoBatch(context.Background(), []string{"joined", "own"}, func(context.Context, []string) ([]coalesce.Result[int], error) {
			<-hang // ignores ctx: the load timeout ends it
			return nil, nil
		})
		if res[0].Err != coalesce.ErrLockTimeout || res[0].Leader {
			t.Errorf("joined key got %v, leader %v; want ErrLockTimeout, false", res[0].Err, res[0].Leader)
		}
		if res[1].Err != coalesce.ErrLoadTimeout || !res[1].Leader {
			t.Errorf("own key got %v, leader %v; want ErrLoadTimeout, true", res[1].Err, res[1].Leader)
		}
		if d := time.Since(start); d != 3*time.Second {
			t.Errorf("DoBatch took %v, want 3s (the load timeout)", d)
		}
		close(hang)
		synctest.Wait()
		if n := g.Len(); n != 0 {
			t.Errorf("Len after = %d, want 0", n)
		}
	})
}

// A batch function that panics after the load timeout finished its keys
// is dropped like any late outcome, as Do drops it: DoBatch returns its
// keys' ErrLoadTimeout, the error Finished reported, and does not panic.
// Here the panic comes while DoBatch still waits for a key joined to
// another caller's call (held in its Recheck), before it looks at whether
// fn panicked.
func TestDoBatchPanicAfterTheLoadTimeoutIsDropped(t *testing.T) {
	// With the joined key first, DoBatch reaches its own key only after fn
	// has panicked, and must still not take that panic for its outcome.
	for _, keys := range [][]string{{"own", "joined"}, {"joined", "own"}} {
		synctest.Test(t, func(t *testing.T) {
			var log finishedLog
			release := make(chan struct{})
			g := newGroup(t, coalesce.Options[string, int]{
				LoadTimeout: time.Second,
				Finished:    log.finished,
				Recheck: func(k string) (int, bool, error) {
					if k == "joined" {
						<-release
					}
					return 0, false, nil
				},
			})
			go g.Do(context.Background(), "joined", func(context.Context) (int, error) { return 1, nil })
			synctest.Wait()
			late := make(chan struct{})
			var res []coalesce.Result[int]
			var panicked any
			done := make(chan struct{})
			go func() {
				defer close(done)
				defer func() { panicked = recover() }()
				res = g.DoBatch(context.Background(), keys, func(ctx context.Context, _ []string) ([]coalesce.Result[int], error) {
					<-ctx.Done()
					<-late
					panic("after the load timeout")
				})
			}()
			time.Sleep(2 * time.Second) // "own" timed out; DoBatch waits for "joined"
			synctest.Wait()
			close(late) // fn panics now: too late for "own"
			synctest.Wait()
			close(release)
			<-done
			if panicked != nil {
				t.Fatalf("keys %v: DoBatch panicked with %v; its own key's outcome was ErrLoadTimeout (Finished: %v)", keys, panicked, log.of("own"))
			}
			for i, k := range keys {
				r := res[i]
				if k == "own" && (r.Err != coalesce.ErrLoadTimeout || !r.Leader) || k == "joined" && (r.Err != nil || r.Val != 1) {
					t.Errorf("keys %v: DoBatch = %+v, want ErrLoadTimeout for own and 1 for joined", keys, res)
				}
			}
		})
	}
}

func TestDoBatchCallerLeaves(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := newGroup(t, coalesce.Options[string, int]{})
		gate := make(chan struct{})
		fn := func(context.Context, []string) ([]coalesce.Result[int], error) {
			<-gate
			return []coalesce.Result[int]{{Val: 1}}, nil
		}
		ctx, cancel := context.WithCancel(context.Background())
		res := make(chan []coalesce.Result[int], 1)
		go func() { res <- g.DoBatch(ctx, []string{"k"}, fn) }()
		synctest.Wait()
		other := make(chan int, 1)
		go func() {
			v, _, _ := g.Do(context.Background(), "k", func(context.Context) (int, error) { return -1, nil })
			other <- v
		}()
		synctest.Wait()
		cancel()
		if r := <-res; !errors.Is(r[0].Err, context.Canceled) || !r[0].Leader {
			t.Fatalf("cancelled DoBatch got %v, leader %v; want context.Canceled, true (its call)", r[0].Err, r[0].Leader)
		}
		close(gate)
		if v := <-other; v != 1 {
			t.Fatalf("the joined caller got %d, want 1", v)
		}
	})
}

// TestDoBatchJoinerOfARecheckLooksAgain: a key of a batch that joined a
// call Recheck answered does not take that call's value, which was read
// before the batch came; it looks again, as Do does.
func TestDoBatchJoinerOfARecheckLooksAgain(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		inRecheck, release := make(chan struct{}), make(chan struct{})
		var mu sync.Mutex
		rechecks := 0
		g := newGroup(t, coalesce.Options[string, int]{
			Recheck: func(k string) (int, bool, error) {
				if k != "k" {
					return 0, false, nil
				}
				mu.Lock()
				rechecks++
				n := rechecks
				mu.Unlock()
				if n == 1 {
					close(inRecheck)
					<-release
					return 1, true, nil // what the cache held when the first caller looked
				}
				return 2, true, nil // what it holds now
			},
		})
		ctx := context.Background()
		go g.Do(ctx, "k", func(context.Context) (int, error) { return 3, nil })
		<-inRecheck
		var loaded [][]string
		done := make(chan []coalesce.Result[int])
		go func() {
			done <- g.DoBatch(ctx, []string{"k", "x", "k"}, func(_ context.Context, keys []string) ([]coalesce.Result[int], error) {
				mu.Lock()
				loaded = append(loaded, slices.Clone(keys))
				mu.Unlock()
				res := make([]coalesce.Result[int], len(keys))
				for i := range res {
					res[i].Val = 30
				}
				return res, nil
			})
		}()
		synctest.Wait() // the batch has joined "k" and waits
		close(release)
		got := <-done
		want := []coalesce.Result[int]{{Val: 2}, {Val: 30, Leader: true}, {Val: 2}}
		if !slices.Equal(got, want) {
			t.Fatalf("DoBatch = %+v, want %+v (the value when the batch looked)", got, want)
		}
		if len(loaded) != 1 || !slices.Equal(loaded[0], []string{"x"}) {
			t.Fatalf("fn loaded %v, want one call for [x]", loaded)
		}
		if rechecks != 2 {
			t.Fatalf("%d rechecks of k, want 2", rechecks)
		}
	})
}

// A joined key whose call finished in time keeps its value even if DoBatch
// reaches it after the lock timer fired (while it waited for a slow key of
// its own): a finished call wins over the timer, which select alone would
// pick half the time.
func TestDoBatchFinishedJoinedKeyBeatsTheLockTimer(t *testing.T) {
	for range 20 {
		synctest.Test(t, func(t *testing.T) {
			g := newGroup(t, coalesce.Options[string, int]{LockTimeout: time.Second})
			go g.Do(context.Background(), "joined", func(context.Context) (int, error) {
				time.Sleep(100 * time.Millisecond)
				return 7, nil
			})
			synctest.Wait()
			res := g.DoBatch(context.Background(), []string{"own", "joined"}, func(_ context.Context, keys []string) ([]coalesce.Result[int], error) {
				time.Sleep(2 * time.Second) // past the lock timeout
				return make([]coalesce.Result[int], len(keys)), nil
			})
			if res[1].Val != 7 || res[1].Err != nil {
				t.Fatalf("the joined key, finished at 100ms, = %+v; want 7 (LockTimeout 1s)", res[1])
			}
		})
	}
}

// A key that panics while DoBatch claims its keys (an unhashable value in
// an interface key) does not leave the keys claimed before it held: they
// fail with the panic, the key is free, and DoBatch panics.
func TestDoBatchPanicWhileClaimingReleasesTheKeys(t *testing.T) {
	g := newGroup(t, coalesce.Options[any, int]{})
	var recovered any
	func() {
		defer func() { recovered = recover() }()
		g.DoBatch(context.Background(), []any{"a", []int{1}}, func(_ context.Context, keys []any) ([]coalesce.Result[int], error) {
			return make([]coalesce.Result[int], len(keys)), nil
		})
	}()
	if recovered == nil {
		t.Fatal("DoBatch with an unhashable key did not panic")
	}
	if g.InFlight("a") || g.Len() != 0 {
		t.Fatalf("after the panic: InFlight(a) %v, Len %d; want false, 0", g.InFlight("a"), g.Len())
	}
	if v, leader, err := g.Do(context.Background(), "a", func(context.Context) (int, error) { return 1, nil }); v != 1 || !leader || err != nil {
		t.Errorf("Do(a) after the panic = (%d, %v, %v), want (1, true, nil)", v, leader, err)
	}
}

// fn runs only for keys left to load: a DoBatch whose keys Recheck all
// answered, or that all joined other calls, does not call it with none.
func TestDoBatchWithNothingToLoadDoesNotCallFn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := newGroup(t, coalesce.Options[string, int]{
			Recheck: func(k string) (int, bool, error) { return 3, k != "joined", nil },
		})
		calls := 0
		fn := func(_ context.Context, keys []string) ([]coalesce.Result[int], error) {
			calls++
			return make([]coalesce.Result[int], len(keys)), nil
		}
		res := g.DoBatch(context.Background(), []string{"a", "b"}, fn)
		if want := []coalesce.Result[int]{{Val: 3}, {Val: 3}}; !slices.Equal(res, want) {
			t.Errorf("DoBatch of rechecked keys = %+v, want %+v", res, want)
		}
		gate := make(chan struct{})
		g.Go(context.Background(), "joined", func(context.Context) (int, error) { <-gate; return 4, nil })
		synctest.Wait()
		done := make(chan []coalesce.Result[int])
		go func() { done <- g.DoBatch(context.Background(), []string{"joined"}, fn) }()
		synctest.Wait()
		close(gate)
		if res := <-done; res[0].Val != 4 || res[0].Leader {
			t.Errorf("DoBatch of a joined key = %+v, want 4, not as leader", res)
		}
		if calls != 0 {
			t.Errorf("fn called %d times with nothing to load, want 0", calls)
		}
	})
}

// A single key of a batch that joined a call Recheck answered looks again
// too (TestDoBatchJoinerOfARecheckLooksAgain has it twice).
func TestDoBatchOneJoinerOfARecheckLooksAgain(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g, release, rechecks := recheckingGroup(t)
		go g.Do(context.Background(), "k", func(context.Context) (int, error) { return 3, nil })
		synctest.Wait()
		done := make(chan []coalesce.Result[int])
		go func() {
			done <- g.DoBatch(context.Background(), []string{"k"}, func(_ context.Context, keys []string) ([]coalesce.Result[int], error) {
				return make([]coalesce.Result[int], len(keys)), nil
			})
		}()
		synctest.Wait() // the batch's key has joined the first caller's call
		if n := rechecks.Load(); n != 1 {
			t.Fatalf("Recheck ran %d times before the first returned, want 1 (the batch joined)", n)
		}
		close(release)
		if got := <-done; got[0] != (coalesce.Result[int]{Val: 2}) {
			t.Fatalf("DoBatch = %+v, want 2 (the value when the batch looked)", got)
		}
	})
}

// A Commit's after function that calls the Group for another key of the
// same batch (RTCache's OnEvict reading a key) finds that key free: every
// key of a batch leaves the wait map before any after function runs. It
// used to join the other key's call, which only the goroutine running the
// after function could finish: the bubble deadlocked.
func TestDoBatchAfterFunctionMayCallTheGroupForAnotherKeyOfTheBatch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var g *coalesce.Group[string, int]
		var inner []coalesce.Result[int]
		g = newGroup(t, coalesce.Options[string, int]{
			Commit: func(k string, v int, err error) func() {
				if k != "a" {
					return nil
				}
				return func() {
					v, leader, err := g.Do(context.Background(), "z", func(context.Context) (int, error) { return 99, nil })
					inner = append(inner, coalesce.Result[int]{Val: v, Err: err, Leader: leader})
				}
			},
		})
		wantOrdinals(t, g.DoBatch(context.Background(), []string{"a", "b", "z"}, loadOrdinals))
		// z's call was settled (and so free) before a's after function ran:
		// the Do ran a call of its own.
		if len(inner) != 1 || inner[0].Val != 99 || inner[0].Err != nil || !inner[0].Leader {
			t.Errorf("the after function's Do(z) = %+v, want one call of its own (99)", inner)
		}
		if n := g.Len(); n != 0 {
			t.Errorf("Len after = %d, want 0", n)
		}
	})
}

// A batch function that returns right at the load timeout gives every key
// the same outcome, whichever side wins: the timeout's error or fn's
// values, never some of each. It used to split the keys between the two,
// key by key (about 1 run in 10 at 64 keys).
func TestDoBatchAtTheLoadTimeoutGivesEveryKeyOneOutcome(t *testing.T) {
	var sides [2]int // batches that timed out, that loaded
	for range 50 {
		synctest.Test(t, func(t *testing.T) {
			g := newGroup(t, coalesce.Options[int, int]{LoadTimeout: time.Second})
			keys := make([]int, 64)
			for i := range keys {
				keys[i] = i
			}
			res := g.DoBatch(context.Background(), keys, func(_ context.Context, keys []int) ([]coalesce.Result[int], error) {
				time.Sleep(time.Second) // returns as the timeout fires
				out := make([]coalesce.Result[int], len(keys))
				for i := range out {
					out[i].Val = 1
				}
				return out, nil
			})
			timedOut := 0
			for _, r := range res {
				switch {
				case r.Err == coalesce.ErrLoadTimeout:
					timedOut++
				case r.Err != nil || r.Val != 1:
					t.Fatalf("a key got %+v, want ErrLoadTimeout or 1", r)
				}
			}
			switch timedOut {
			case 0:
				sides[1]++
			case len(keys):
				sides[0]++
			default:
				t.Fatalf("%d of %d keys timed out, the others loaded", timedOut, len(keys))
			}
			synctest.Wait()
			if n := g.Len(); n != 0 {
				t.Errorf("Len after = %d, want 0", n)
			}
		})
	}
	t.Logf("timed out %d, loaded %d", sides[0], sides[1])
}

// A Recheck that calls runtime.Goexit while DoBatch claims its keys ends
// the caller's goroutine, as it would in Do: the keys claimed so far get
// ErrGoexit and are free again. DoBatch used to turn the Goexit into a
// panic with a nil value.
func TestDoBatchRecheckGoexitReleasesTheKeys(t *testing.T) {
	g := newGroup(t, coalesce.Options[string, int]{
		Recheck: func(k string) (int, bool, error) {
			if k == "b" {
				runtime.Goexit()
			}
			return 0, false, nil
		},
	})
	var recovered any = "not run"
	exited := true
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer func() { recovered = recover() }()
		g.DoBatch(context.Background(), []string{"a", "b", "c"}, func(_ context.Context, keys []string) ([]coalesce.Result[int], error) {
			return make([]coalesce.Result[int], len(keys)), nil
		})
		exited = false
	}()
	<-done
	if recovered != nil || !exited {
		t.Fatalf("DoBatch with a Goexit in Recheck: recovered %v (%T), goroutine ended: %v; want no panic and the goroutine ended", recovered, recovered, exited)
	}
	if g.Len() != 0 {
		t.Fatalf("Len after = %d, want 0", g.Len())
	}
	for _, k := range []string{"a", "c"} {
		if v, leader, err := g.Do(context.Background(), k, func(context.Context) (int, error) { return 7, nil }); v != 7 || !leader || err != nil {
			t.Errorf("Do(%s) after = (%d, %v, %v), want (7, true, nil)", k, v, leader, err)
		}
	}
}

// An after function that calls runtime.Goexit (t.FailNow in a test's
// OnEvict) ends the batch's goroutine only once every key of the batch is
// released, each with its own after function and Finished: the keys after
// it used to lose their after functions.
func TestDoBatchGoexitInAnAfterFunctionReleasesEveryKey(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var afters, finished []string
		g := newGroup(t, coalesce.Options[string, int]{
			Commit: func(k string, _ int, _ error) func() {
				return func() {
					afters = append(afters, k)
					if k == "a" {
						runtime.Goexit()
					}
				}
			},
			Finished: func(k string, _ error) { finished = append(finished, k) },
		})
		wantOrdinals(t, g.DoBatch(context.Background(), []string{"a", "b", "c"}, loadOrdinals))
		if !slices.Equal(afters, []string{"a", "b", "c"}) || !slices.Equal(finished, []string{"a", "b", "c"}) {
			t.Errorf("after functions ran for %v, Finished for %v; want a, b, c for both", afters, finished)
		}
		if n := g.Len(); n != 0 {
			t.Errorf("Len after = %d, want 0", n)
		}
	})
}

// loadOrdinals is a batch function that gives the i-th key it is given i+1.
func loadOrdinals(_ context.Context, keys []string) ([]coalesce.Result[int], error) {
	out := make([]coalesce.Result[int], len(keys))
	for i := range out {
		out[i].Val = i + 1
	}
	return out, nil
}

// wantOrdinals checks that a DoBatch of distinct keys, all its own to load
// with loadOrdinals, gave the i-th key i+1 as its leader.
func wantOrdinals(t *testing.T, res []coalesce.Result[int]) {
	t.Helper()
	for i, r := range res {
		if r.Val != i+1 || r.Err != nil || !r.Leader {
			t.Errorf("key %d: %+v, want (%d, leader, no error)", i, r, i+1)
		}
	}
}

// A caller that joined a key DoBatch had claimed gets the error of the
// claim that failed after it: the panic (as a *PanicError with its value)
// or ErrGoexit, as the keys' doc says; never a value, never a hang.
func TestDoBatchFailedClaimFailsTheJoiners(t *testing.T) {
	for _, tc := range []struct {
		name string
		end  func()
		want func(error) bool
	}{
		{"panic", func() { panic("claim boom") }, func(err error) bool {
			var pe *coalesce.PanicError
			return errors.As(err, &pe) && pe.Value == "claim boom"
		}},
		{"Goexit", runtime.Goexit, func(err error) bool { return errors.Is(err, coalesce.ErrGoexit) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				release := make(chan struct{})
				g := newGroup(t, coalesce.Options[string, int]{
					Recheck: func(k string) (int, bool, error) {
						if k == "b" {
							<-release
							tc.end()
						}
						return 0, false, nil
					},
				})
				go func() {
					defer func() { recover() }()
					g.DoBatch(context.Background(), []string{"a", "b"}, func(_ context.Context, keys []string) ([]coalesce.Result[int], error) {
						t.Errorf("fn ran for %v after the claim failed", keys)
						return make([]coalesce.Result[int], len(keys)), nil
					})
				}()
				synctest.Wait() // "a" is claimed, Recheck(b) waits
				type answer struct {
					v      int
					leader bool
					err    error
				}
				joined := make(chan answer, 1)
				go func() {
					v, leader, err := g.Do(context.Background(), "a", func(context.Context) (int, error) { return 5, nil })
					joined <- answer{v, leader, err}
				}()
				synctest.Wait() // the caller of "a" waits on the batch's call
				close(release)
				a := <-joined
				if a.leader || !tc.want(a.err) {
					t.Fatalf("the joiner of a got (%d, leader %v, %v), want the failed claim's error", a.v, a.leader, a.err)
				}
				if g.Len() != 0 {
					t.Fatalf("Len after = %d, want 0", g.Len())
				}
			})
		})
	}
}

// The keys DoBatch claimed before a claim failed are all released, each
// with its after function, even if one of those panics: the claim's own
// panic goes on (not the after function's, which it caused), and a Goexit
// becomes the first after function's panic, later ones dropped.
func TestDoBatchFailedClaimRunsEveryAfterFunction(t *testing.T) {
	for _, tc := range []struct {
		name string
		end  func()
		want any
	}{
		{"panic", func() { panic("claim boom") }, "claim boom"},
		{"Goexit", runtime.Goexit, "after a"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var ran []string
			g := newGroup(t, coalesce.Options[string, int]{
				Recheck: func(k string) (int, bool, error) {
					if k == "d" {
						tc.end()
					}
					return 0, false, nil
				},
				Commit: func(k string, _ int, _ error) func() {
					return func() {
						ran = append(ran, k)
						if k != "b" {
							panic("after " + k)
						}
					}
				},
			})
			var recovered any
			done := make(chan struct{})
			go func() {
				defer close(done)
				defer func() { recovered = recover() }()
				g.DoBatch(context.Background(), []string{"a", "b", "c", "d"}, func(_ context.Context, keys []string) ([]coalesce.Result[int], error) {
					t.Errorf("fn ran for %v after the claim failed", keys)
					return make([]coalesce.Result[int], len(keys)), nil
				})
			}()
			<-done
			if recovered != tc.want {
				t.Errorf("DoBatch raised %v, want %v", recovered, tc.want)
			}
			if !slices.Equal(ran, []string{"a", "b", "c"}) {
				t.Errorf("after functions ran for %v, want a, b, c", ran)
			}
			if g.Len() != 0 {
				t.Errorf("Len after = %d, want 0", g.Len())
			}
		})
	}
}

// A DoBatch of no keys returns no results and never calls fn.
func TestDoBatchOfNoKeys(t *testing.T) {
	g := newGroup(t, coalesce.Options[string, int]{})
	for _, keys := range [][]string{nil, {}} {
		res := g.DoBatch(context.Background(), keys, func(context.Context, []string) ([]coalesce.Result[int], error) {
			t.Error("fn ran for no keys")
			return nil, nil
		})
		if len(res) != 0 || g.Len() != 0 {
			t.Errorf("DoBatch(%v) = %v, Len %d; want no results, Len 0", keys, res, g.Len())
		}
	}
}

// A batch of many keys releases its calls in a loop: it used to recurse
// once per key, in deferred calls stacked on one another, and a batch of
// 30,000 keys overflowed an 8 MiB stack (a fatal error that nothing can
// recover; the default limit, 1 GiB, took a few million keys). With the
// stack held to 4 MiB, 100,000 keys would have needed over 20.
// Not parallel: the stack limit is the process's.
func TestDoBatchOfManyKeysReleasesInConstantStack(t *testing.T) {
	defer debug.SetMaxStack(debug.SetMaxStack(4 << 20))
	g := newGroup(t, coalesce.Options[int, int]{
		Commit: func(int, int, error) func() { return func() {} }, // an after function per key
	})
	keys := make([]int, 100_000)
	for i := range keys {
		keys[i] = i
	}
	res := g.DoBatch(context.Background(), keys, func(_ context.Context, keys []int) ([]coalesce.Result[int], error) {
		out := make([]coalesce.Result[int], len(keys))
		for i, k := range keys {
			out[i].Val = k
		}
		return out, nil
	})
	for i, r := range res {
		if r.Err != nil || r.Val != i {
			t.Fatalf("key %d: %+v", i, r)
		}
	}
	if n := g.Len(); n != 0 {
		t.Errorf("Len after = %d, want 0", n)
	}
}

// A batch function that returns because its ctx ended at the load timeout
// (with ctx.Err()) gives every key ErrLoadTimeout, as the timeout would:
// its outcome raced the timeout's, and some batches got
// context.DeadlineExceeded.
func TestDoBatchReturningAtItsDeadlineTimesOut(t *testing.T) {
	g := newGroup(t, coalesce.Options[int, int]{LoadTimeout: time.Millisecond})
	const batches = 200
	res := make([][]coalesce.Result[int], batches)
	var wg sync.WaitGroup
	for b := range batches {
		wg.Go(func() {
			res[b] = g.DoBatch(context.Background(), []int{2 * b, 2*b + 1}, func(ctx context.Context, keys []int) ([]coalesce.Result[int], error) {
				<-ctx.Done()
				return nil, ctx.Err()
			})
		})
	}
	wg.Wait()
	for b, rs := range res {
		for _, r := range rs {
			if r.Err != coalesce.ErrLoadTimeout {
				t.Fatalf("batch %d: a key got %v, want ErrLoadTimeout", b, r.Err)
			}
		}
	}
}

// A batch function that returns because its ctx ended at the load timeout
// gives every key ErrLoadTimeout, even when it wins the race with the
// timeout's AfterFunc. fn hangs many contexts off its ctx first: the
// deadline's cancel closes Done, then cancels the children one by one
// under the parent's lock, so fn wakes and returns (and startBatch's stop
// claims the AfterFunc) long before the AfterFunc's turn comes. Without
// startBatch's lctx.Err() check, fn's context.DeadlineExceeded reached
// the keys.
func TestDoBatchReturningAtItsDeadlineTimesOutWhenFnWinsTheRace(t *testing.T) {
	g := newGroup(t, coalesce.Options[int, int]{LoadTimeout: 50 * time.Millisecond})
	for b := range 10 {
		res := g.DoBatch(context.Background(), []int{2 * b, 2*b + 1}, func(ctx context.Context, keys []int) ([]coalesce.Result[int], error) {
			return nil, wakeFirstAtTheDeadline(ctx)
		})
		for _, r := range res {
			if r.Err != coalesce.ErrLoadTimeout {
				t.Fatalf("batch %d: a key got %v, want ErrLoadTimeout", b, r.Err)
			}
		}
	}
}

// wakeFirstAtTheDeadline hangs many contexts off ctx, waits for it to end
// and returns its error: the deadline's cancel closes Done, then cancels
// the children one by one under the parent's lock, so the caller wakes
// and returns long before a timer's AfterFunc on ctx gets its turn.
func wakeFirstAtTheDeadline(ctx context.Context) error {
	cancels := make([]context.CancelFunc, 0, 20000)
	for range cap(cancels) {
		_, cancel := context.WithCancel(ctx)
		cancels = append(cancels, cancel)
	}
	_ = cancels // all end with ctx: calling them here would wait for its lock
	<-ctx.Done()
	return ctx.Err()
}

// A batch function may keep or change its slice of keys: DoBatch settles
// and commits each key under its own name whatever fn does to the slice,
// and every key is free again afterwards.
func TestDoBatchFnMayChangeItsKeys(t *testing.T) {
	committed := map[string]int{}
	g := newGroup(t, coalesce.Options[string, int]{
		Commit: func(k string, v int, err error) func() {
			committed[k] = v // Commit runs on the batch's goroutine, one key at a time
			return nil
		},
	})
	res := g.DoBatch(context.Background(), []string{"a", "b", "c"}, func(_ context.Context, keys []string) ([]coalesce.Result[int], error) {
		out := make([]coalesce.Result[int], len(keys))
		for i := range keys {
			out[i].Val = i + 1
			keys[i] = "scribbled"
		}
		return out, nil
	})
	for i, r := range res {
		if r.Err != nil || r.Val != i+1 {
			t.Fatalf("key %d: %+v, want %d", i, r, i+1)
		}
	}
	if want := (map[string]int{"a": 1, "b": 2, "c": 3}); !maps.Equal(committed, want) {
		t.Errorf("committed %v, want %v", committed, want)
	}
	if n := g.Len(); n != 0 {
		t.Fatalf("Len after = %d, want 0: a key is still held", n)
	}
}
