package coalesce_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ufocache/ufocache/coalesce"
)

// A function that asks for its own key, with its ctx, gets ErrCycle at
// once: from Do (its call on its caller's goroutine or on its own) and
// from DoBatch, for a key of its own batch; the other keys of that
// DoBatch load.
func TestOwnKeyIsACycle(t *testing.T) {
	for _, opts := range []coalesce.Options[string, string]{{}, {LoadTimeout: time.Minute}, {LockTimeout: time.Minute}} {
		t.Run(fmt.Sprintf("%+v", opts), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				start := time.Now()
				g := newGroup(t, opts)
				var inner error
				var fn func(ctx context.Context) (string, error)
				fn = func(ctx context.Context) (string, error) {
					_, _, inner = g.Do(ctx, "k", fn)
					return "v", nil
				}
				if v, leader, err := g.Do(context.Background(), "k", fn); v != "v" || !leader || err != nil || inner != coalesce.ErrCycle {
					t.Errorf("%+v: Do gave %q, %v, %v (the inner Do %v); want the value, and ErrCycle inside", opts, v, leader, err, inner)
				}
				res := g.DoBatch(context.Background(), []string{"x", "y"}, func(ctx context.Context, keys []string) ([]coalesce.Result[string], error) {
					_, _, err := g.Do(ctx, "y", fn)
					return []coalesce.Result[string]{{Val: "x"}, {Err: err}}, nil
				})
				if res[0].Val != "x" || res[0].Err != nil || res[1].Err != coalesce.ErrCycle {
					t.Errorf("%+v: a batch asking for its own key: %+v; want x loaded, y ErrCycle", opts, res)
				}
				if waited := time.Since(start); waited != 0 || g.Len() != 0 {
					t.Errorf("%+v: waited %v, and %d calls still hold their keys; want no wait and none", opts, waited, g.Len())
				}
			})
		})
	}
}

// A wait that ended leaves no trace in the graph: a's function gave up on
// b at LockTimeout, so when b's function then asks for a, it waits for a
// and gets its value, not ErrCycle.
func TestAnEndedWaitIsNoCycle(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := newGroup(t, coalesce.Options[string, string]{LockTimeout: time.Second})
		releaseA, releaseB := make(chan struct{}), make(chan struct{})
		var aAsked, bAsked error
		var bGot string
		var callers sync.WaitGroup
		var a, b func(ctx context.Context) (string, error)
		b = func(ctx context.Context) (string, error) {
			<-releaseB
			bGot, _, bAsked = g.Do(ctx, "a", a)
			return "b", nil
		}
		a = func(ctx context.Context) (string, error) {
			_, _, aAsked = g.Do(ctx, "b", b) // b's call is held by another caller
			<-releaseA
			return "a", nil
		}
		callers.Go(func() { g.Do(context.Background(), "b", b) })
		synctest.Wait()
		callers.Go(func() { g.Do(context.Background(), "a", a) })
		time.Sleep(time.Second) // a's function gives up on b
		synctest.Wait()
		close(releaseB) // b's function asks for a, whose function is not waiting for anything
		synctest.Wait()
		close(releaseA)
		callers.Wait()
		if aAsked != coalesce.ErrLockTimeout || bAsked != nil || bGot != "a" {
			t.Errorf("a's function got %v from b; b's got %q, %v from a; want ErrLockTimeout, then a's value", aAsked, bGot, bAsked)
		}
	})
}

// Random graphs of keys whose functions ask for other keys (one after the
// other, or from goroutines of their own at once), asked for by several
// callers at once, on their goroutines or on the calls' own. Every caller
// returns (synctest fails the test if the bubble deadlocks). Without a
// loop among the keys no caller sees ErrCycle, and every value is right:
// the key plus its dependencies' values. With loops, every error is
// ErrCycle, wrapped by the functions it went through.
func TestCyclesNeverHang(t *testing.T) {
	for seed := range 300 {
		r := rand.New(rand.NewPCG(uint64(seed), 7))
		n := 2 + r.IntN(6)
		acyclic := r.IntN(2) == 0
		deps := make([][]int, n)
		for k := range n {
			for d := range n {
				if (d > k || !acyclic && d != k) && r.IntN(3) == 0 || !acyclic && d == k && r.IntN(20) == 0 {
					deps[k] = append(deps[k], d)
				}
			}
		}
		parallel := r.IntN(2) == 0
		var opts coalesce.Options[int, int]
		canEnd := r.IntN(2) == 0
		if r.IntN(3) == 0 {
			opts.LoadTimeout = time.Hour
		}
		callers := 1 + r.IntN(6)
		keys := make([]int, callers)
		for i := range keys {
			keys[i] = r.IntN(n)
		}
		name := fmt.Sprintf("seed %d: deps %v, acyclic %v, parallel %v, ctx can end %v, %+v, keys %v", seed, deps, acyclic, parallel, canEnd, opts, keys)
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				start := time.Now()
				g := newGroup(t, opts)
				var fn func(k int) func(context.Context) (int, error)
				fn = func(k int) func(context.Context) (int, error) {
					return func(ctx context.Context) (int, error) {
						vals := make([]int, len(deps[k]))
						errs := make([]error, len(deps[k]))
						var wg sync.WaitGroup
						for i, d := range deps[k] {
							ask := func() { vals[i], _, errs[i] = g.Do(ctx, d, fn(d)) }
							if parallel {
								wg.Go(ask)
							} else {
								ask()
							}
						}
						wg.Wait()
						sum := k
						for i, err := range errs {
							if err != nil {
								return 0, fmt.Errorf("%d: %w", k, err)
							}
							sum += vals[i]
						}
						return sum, nil
					}
				}
				var want func(k int) int
				want = func(k int) int {
					sum := k
					for _, d := range deps[k] {
						sum += want(d)
					}
					return sum
				}
				var wg sync.WaitGroup
				for _, k := range keys {
					wg.Go(func() {
						ctx := context.Background()
						if canEnd {
							var cancel context.CancelFunc
							ctx, cancel = context.WithCancel(ctx)
							defer cancel()
						}
						v, _, err := g.Do(ctx, k, fn(k))
						switch {
						case acyclic && (err != nil || v != want(k)):
							t.Errorf("%s: key %d gave %d, %v; want %d", name, k, v, err, want(k))
						case err != nil && !errors.Is(err, coalesce.ErrCycle):
							t.Errorf("%s: key %d gave %v, want nil or ErrCycle", name, k, err)
						}
					})
				}
				wg.Wait()
				// A caller that got ErrCycle may have left its own call still
				// finishing: wait for the bubble to settle before counting.
				synctest.Wait()
				if g.Len() != 0 {
					t.Errorf("%s: %d calls still hold their keys", name, g.Len())
				}
				// Nothing waits for a timer: a loop of calls that a
				// LoadTimeout (an hour) broke would show as time passed.
				if d := time.Since(start); d != 0 {
					t.Errorf("%s: the calls took %v; want no wait", name, d)
				}
			})
		})
	}
}

// A function's context keeps its leader's values and nothing of its
// cancellation: once the leader's ctx is cancelled with a cause, fn's ctx
// is not done (its Done channel is Close's), has no error, no cause and,
// without LoadTimeout, no deadline (with it, LoadTimeout's). The same for a DoBatch's function and
// for a function run on its caller's goroutine. (The mark the cycle check
// keeps in it must not let the caller's end through, as a context that
// forwarded the caller's deadline or Done channel would.)
func TestFunctionContextKeepsValuesOnly(t *testing.T) {
	type ctxKey struct{}
	for _, tc := range []struct {
		name    string
		timeout time.Duration
		canEnd  bool
		batch   bool
	}{
		{"Do on its own goroutine", 0, true, false},
		{"Do with LoadTimeout", time.Minute, true, false},
		{"Do on the caller's goroutine", 0, false, false},
		{"DoBatch", 0, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				g := newGroup(t, coalesce.Options[string, string]{LoadTimeout: tc.timeout})
				ctx := context.WithValue(context.Background(), ctxKey{}, "trace")
				cancel := func(error) {}
				if tc.canEnd {
					ctx, cancel = context.WithCancelCause(ctx)
					var stop context.CancelFunc
					ctx, stop = context.WithTimeout(ctx, time.Hour) // a deadline fn must not get
					defer stop()
				}
				check := func(fctx context.Context) string {
					cancel(errors.New("the caller left"))
					deadline, has := fctx.Deadline()
					switch {
					case fctx.Value(ctxKey{}) != "trace":
						return "lost the caller's value"
					case isClosed(fctx.Done()), fctx.Err() != nil, context.Cause(fctx) != nil:
						return fmt.Sprintf("ended with the caller: Err %v, Cause %v", fctx.Err(), context.Cause(fctx))
					case has != (tc.timeout > 0) || has && deadline != time.Now().Add(tc.timeout):
						return fmt.Sprintf("deadline %v, %v", deadline, has)
					}
					return "ok"
				}
				var got string // the caller may have left before fn returns
				if tc.batch {
					g.DoBatch(ctx, []string{"k"}, func(fctx context.Context, keys []string) ([]coalesce.Result[string], error) {
						got = check(fctx)
						return make([]coalesce.Result[string], 1), nil
					})
				} else {
					g.Do(ctx, "k", func(fctx context.Context) (string, error) { got = check(fctx); return "", nil })
				}
				synctest.Wait()
				if got != "ok" {
					t.Errorf("fn's context %s", got)
				}
			})
		})
	}
}

// isClosed reports whether ch (nil: never) is closed.
func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}
