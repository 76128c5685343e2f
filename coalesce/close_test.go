package coalesce_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ufocache/ufocache/coalesce"
)

// closing runs g.Close(ctx) on a goroutine of its own; the returned
// function waits for its error.
func closing[K comparable, V any](g *coalesce.Group[K, V], ctx context.Context) (wait func() error, returned *atomic.Bool) {
	done := make(chan error, 1)
	returned = new(atomic.Bool)
	go func() {
		err := g.Close(ctx)
		returned.Store(true)
		done <- err
	}()
	return func() error { return <-done }, returned
}

// Close waits for a function that runs, through its call's Commit and
// after function, and turns away the calls that would start a function
// meanwhile.
func TestCloseWaitsForTheFunctionsThatRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var committed, after atomic.Bool
		g := newGroup(t, coalesce.Options[string, int]{Commit: func(string, int, error) func() {
			committed.Store(true)
			return func() { after.Store(true) }
		}})
		release := make(chan struct{})
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		got := make(chan error, 1)
		go func() {
			_, _, err := g.Do(ctx, "a", func(context.Context) (int, error) { <-release; return 1, nil })
			got <- err
		}()
		synctest.Wait()
		wait, returned := closing(g, context.Background())
		synctest.Wait()
		if returned.Load() {
			t.Fatal("Close returned while a function ran")
		}
		if !g.Closed() {
			t.Fatal("Closed is false once Close has begun")
		}
		if g.Go(context.Background(), "b", func(context.Context) (int, error) { t.Error("a function started after Close"); return 0, nil }) {
			t.Error("Go started a function after Close")
		}
		close(release)
		if err := wait(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		if !committed.Load() || !after.Load() {
			t.Fatalf("Close returned before the call finished: committed %v, after function %v", committed.Load(), after.Load())
		}
		if err := <-got; err != nil {
			t.Fatalf("the caller of the call in flight got %v", err)
		}
		if err := g.Close(context.Background()); err != nil {
			t.Fatalf("a second Close: %v", err)
		}
	})
}

// After Close every way of starting a function finishes at once with
// ErrClosed, uncommitted and unreported; Recheck still answers, and a
// Group with nothing running closes at once.
func TestCloseRefusesNewFunctions(t *testing.T) {
	var commits, finished atomic.Int32
	g := newGroup(t, coalesce.Options[string, int]{
		Recheck: func(k string) (int, bool, error) { return 7, k == "cached", nil },
		Commit: func(string, int, error) func() {
			commits.Add(1)
			return nil
		},
		Finished: func(string, error) { finished.Add(1) },
	})
	if err := g.Close(context.Background()); err != nil {
		t.Fatalf("Close of an idle Group: %v", err)
	}
	fn := func(context.Context) (int, error) { t.Error("a function started after Close"); return 1, nil }
	batch := func(context.Context, []string) ([]coalesce.Result[int], error) {
		t.Error("a batch function started after Close")
		return nil, nil
	}
	cancelled, cancel := context.WithCancel(context.Background())
	defer cancel()
	for _, ctx := range []context.Context{context.Background(), cancelled} { // on the caller's goroutine, and on one of its own
		if v, leader, err := g.Do(ctx, "a", fn); !errors.Is(err, coalesce.ErrClosed) || leader || v != 0 {
			t.Errorf("Do after Close: %v, leader %v, %v", v, leader, err)
		}
	}
	if v, _, err := g.Do(context.Background(), "cached", fn); err != nil || v != 7 {
		t.Errorf("Do of a key Recheck answers: %v, %v", v, err)
	}
	for i, r := range g.DoBatch(context.Background(), []string{"a", "b", "a", "cached"}, batch) {
		want := error(coalesce.ErrClosed)
		if i == 3 {
			want = nil
		}
		if r.Err != want || r.Leader {
			t.Errorf("DoBatch's key %d: %+v", i, r)
		}
	}
	if g.Go(context.Background(), "a", fn) {
		t.Error("Go reported a function started")
	}
	if n := g.GoBatch(context.Background(), []string{"a", "b"}, batch); n != 0 {
		t.Errorf("GoBatch started %d keys", n)
	}
	if commits.Load() != 0 || finished.Load() != 0 || g.Len() != 0 {
		t.Fatalf("after Close: %d commits, %d Finished, Len %d", commits.Load(), finished.Load(), g.Len())
	}
}

// A caller that comes while Close waits still joins the call in flight.
func TestCloseLetsCallersJoinTheCallInFlight(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := newGroup(t, coalesce.Options[string, int]{})
		release := make(chan struct{})
		var runs atomic.Int32
		fn := func(context.Context) (int, error) { runs.Add(1); <-release; return 5, nil }
		go g.Go(context.Background(), "a", fn)
		synctest.Wait()
		wait, _ := closing(g, context.Background())
		synctest.Wait()
		got := make(chan int, 2)
		go func() { v, _, _ := g.Do(context.Background(), "a", fn); got <- v }()
		go func() { got <- g.DoBatch(context.Background(), []string{"a"}, nil)[0].Val }()
		synctest.Wait()
		close(release)
		if a, b := <-got, <-got; a != 5 || b != 5 || runs.Load() != 1 {
			t.Fatalf("joined callers got %d and %d, %d runs", a, b, runs.Load())
		}
		if err := wait(); err != nil {
			t.Fatal(err)
		}
	})
}

// When Close's ctx ends first, Close ends the functions' contexts (with
// ErrClosed as the cause, also for a context a function derived) and
// returns ctx's error; what the functions return is their callers' and
// not taken for a load timeout. A second Close waits for them to end.
func TestCloseEndsTheFunctionsWhenItsCtxEnds(t *testing.T) {
	for _, timeout := range []time.Duration{0, time.Hour} {
		for _, batch := range []bool{false, true} {
			t.Run(fmt.Sprintf("LoadTimeout %v, batch %v", timeout, batch), func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					g := newGroup(t, coalesce.Options[string, int]{LoadTimeout: timeout})
					var seen atomic.Value
					hold := make(chan struct{}) // the function ignores its end until this closes
					fn := func(ctx context.Context) (int, error) {
						inner, stop := context.WithTimeout(ctx, 2*time.Hour)
						defer stop()
						<-inner.Done()
						seen.Store([2]error{ctx.Err(), context.Cause(inner)})
						<-hold
						return 0, errStopped
					}
					got := make(chan error, 1)
					go func() {
						if batch {
							got <- g.DoBatch(context.Background(), []string{"a"}, func(ctx context.Context, _ []string) ([]coalesce.Result[int], error) {
								_, err := fn(ctx)
								return nil, err
							})[0].Err
							return
						}
						_, _, err := g.Do(context.Background(), "a", fn)
						got <- err
					}()
					synctest.Wait()
					ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
					defer cancel()
					if err := g.Close(ctx); err != context.DeadlineExceeded {
						t.Fatalf("Close: %v, want its ctx's error", err)
					}
					synctest.Wait()
					s, _ := seen.Load().([2]error)
					if s[0] != context.Canceled || s[1] != coalesce.ErrClosed {
						t.Fatalf("the function's ctx: Err %v, the cause of its own WithTimeout %v", s[0], s[1])
					}
					wait, returned := closing(g, context.Background())
					synctest.Wait()
					if returned.Load() {
						t.Fatal("a second Close returned while a function ran")
					}
					close(hold)
					if err := wait(); err != nil {
						t.Fatalf("second Close: %v", err)
					}
					if err := <-got; err != errStopped {
						t.Fatalf("the caller got %v, want the function's own error", err)
					}
				})
			})
		}
	}
}

var errStopped = errors.New("the origin call stopped")

// A function past its LoadTimeout has finished its call but still runs:
// Close waits for it.
func TestCloseWaitsForAFunctionPastItsLoadTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := newGroup(t, coalesce.Options[string, int]{LoadTimeout: time.Second})
		release := make(chan struct{})
		_, _, err := g.Do(context.Background(), "a", func(context.Context) (int, error) { <-release; return 1, nil })
		if err != coalesce.ErrLoadTimeout {
			t.Fatalf("Do: %v", err)
		}
		wait, returned := closing(g, context.Background())
		synctest.Wait()
		if returned.Load() {
			t.Fatal("Close returned while a function past its LoadTimeout ran")
		}
		close(release)
		if err := wait(); err != nil {
			t.Fatal(err)
		}
	})
}

// A function that panics or calls runtime.Goexit ends all the same, on
// its own goroutine, in a batch, or on its caller's: Close does not wait
// for it forever.
func TestCloseAfterAPanicOrGoexit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := newGroup(t, coalesce.Options[string, int]{})
		g.Go(context.Background(), "p", func(context.Context) (int, error) { panic("boom") })
		g.Go(context.Background(), "x", func(context.Context) (int, error) { runtime.Goexit(); return 0, nil })
		g.GoBatch(context.Background(), []string{"b"}, func(context.Context, []string) ([]coalesce.Result[int], error) { panic("boom") })
		done := make(chan struct{})
		go func() { // ctx without Done: the function runs here, and Goexit ends this goroutine
			defer close(done)
			g.Do(context.Background(), "h", func(context.Context) (int, error) { runtime.Goexit(); return 0, nil })
		}()
		<-done
		func() {
			defer func() { recover() }()
			g.Do(context.Background(), "q", func(context.Context) (int, error) { panic("boom") })
		}()
		synctest.Wait()
		if err := g.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
	})
}

// Callers of every kind race Close: once Close returns, no function runs
// and nothing more is committed, and every caller got either its
// function's value or ErrClosed.
func TestCloseRacingCallers(t *testing.T) {
	for range 20 {
		var closed, late atomic.Bool
		var running atomic.Int32
		g := newGroup(t, coalesce.Options[int, int]{
			LoadTimeout: time.Minute,
			Commit: func(int, int, error) func() {
				if closed.Load() {
					late.Store(true)
				}
				return func() {
					if closed.Load() {
						late.Store(true)
					}
				}
			},
		})
		fn := func(ctx context.Context) (int, error) {
			running.Add(1)
			defer running.Add(-1)
			runtime.Gosched()
			return 1, nil
		}
		batch := func(ctx context.Context, keys []int) ([]coalesce.Result[int], error) {
			v, err := fn(ctx)
			res := make([]coalesce.Result[int], len(keys))
			for i := range res {
				res[i].Val = v
			}
			return res, err
		}
		var wg sync.WaitGroup
		var bad atomic.Value
		check := func(v int, err error) {
			if err == nil && v != 1 || err != nil && err != coalesce.ErrClosed {
				bad.Store([2]any{v, err})
			}
		}
		for w := range 4 {
			wg.Go(func() {
				for i := range 200 {
					k := i % 16
					switch (w + i) % 4 {
					case 0:
						v, _, err := g.Do(context.Background(), k, fn)
						check(v, err)
					case 1:
						for _, r := range g.DoBatch(context.Background(), []int{k, k + 1}, batch) {
							check(r.Val, r.Err)
						}
					case 2:
						g.Go(context.Background(), k, fn)
					default:
						g.GoBatch(context.Background(), []int{k, k + 2}, batch)
					}
				}
			})
		}
		runtime.Gosched()
		if err := g.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
		closed.Store(true)
		if n := running.Load(); n != 0 {
			t.Fatalf("%d functions run after Close returned", n)
		}
		wg.Wait()
		if n := running.Load(); n != 0 || late.Load() {
			t.Fatalf("after Close: %d functions ran, a commit came late: %v", n, late.Load())
		}
		if b := bad.Load(); b != nil {
			t.Fatalf("a caller got %v", b)
		}
	}
}

// After Close a call older than LockAge holds its key again: a caller
// joins it rather than take the key over with a call that could not
// start (which got ErrClosed, and ended the line the old call's value is
// stored in).
func TestCloseLetsCallersJoinACallPastLockAge(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var stored atomic.Value
		g := newGroup(t, coalesce.Options[string, int]{LockAge: time.Second, Commit: func(_ string, v int, err error) func() {
			if err == nil {
				stored.Store(v)
			}
			return nil
		}})
		release := make(chan struct{})
		g.Go(context.Background(), "a", func(context.Context) (int, error) { <-release; return 9, nil })
		time.Sleep(2 * time.Second) // past LockAge
		if g.InFlight("a") {
			t.Fatal("a call past LockAge still holds its key before Close")
		}
		wait, _ := closing(g, context.Background())
		synctest.Wait()
		if !g.InFlight("a") || g.Len() != 1 {
			t.Fatalf("after Close, the call past LockAge: InFlight %v, Len %d", g.InFlight("a"), g.Len())
		}
		got := make(chan error, 1)
		go func() {
			v, _, err := g.Do(context.Background(), "a", nil)
			if err == nil && v != 9 {
				err = fmt.Errorf("value %d", v)
			}
			got <- err
		}()
		synctest.Wait()
		close(release)
		if err := <-got; err != nil {
			t.Fatalf("a caller after Close: %v, want the call in flight's value", err)
		}
		if err := wait(); err != nil {
			t.Fatal(err)
		}
		if v, _ := stored.Load().(int); v != 9 {
			t.Fatalf("stored %v, want the call's 9", stored.Load())
		}
	})
}
