package coalesce_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ufocache/ufocache/coalesce"
)

func newGroup[K comparable, V any](t *testing.T, opts coalesce.Options[K, V]) *coalesce.Group[K, V] {
	t.Helper()
	g, err := coalesce.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// stampede runs n callers of one key against fn, which blocks until every
// caller is waiting, and returns their outcomes.
func stampede(t *testing.T, g *coalesce.Group[string, int], n int, gate chan struct{}, fn func(context.Context) (int, error)) (vals []int, leaders int, errs []error) {
	t.Helper()
	vals, errs = make([]int, n), make([]error, n)
	var wg sync.WaitGroup
	var nleaders atomic.Int32
	for i := range n {
		wg.Go(func() {
			v, leader, err := g.Do(context.Background(), "k", fn)
			vals[i], errs[i] = v, err
			if leader {
				nleaders.Add(1)
			}
		})
	}
	synctest.Wait() // every caller waits on the call, fn on the gate
	if got := g.Len(); got != 1 {
		t.Errorf("Len while the call runs = %d, want 1", got)
	}
	close(gate)
	wg.Wait()
	return vals, int(nleaders.Load()), errs
}

func TestStampedeOneCall(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := newGroup(t, coalesce.Options[string, int]{})
		var calls atomic.Int32
		gate := make(chan struct{})
		vals, leaders, errs := stampede(t, g, 1000, gate, func(context.Context) (int, error) {
			calls.Add(1)
			<-gate
			return 42, nil
		})
		if n := calls.Load(); n != 1 {
			t.Fatalf("fn ran %d times, want 1", n)
		}
		if leaders != 1 {
			t.Errorf("%d leaders, want 1", leaders)
		}
		for i := range vals {
			if vals[i] != 42 || errs[i] != nil {
				t.Fatalf("caller %d got (%d, %v), want (42, nil)", i, vals[i], errs[i])
			}
		}
		if n := g.Len(); n != 0 {
			t.Errorf("Len after = %d, want 0", n)
		}
	})
}

func TestStampedeSharedError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := newGroup(t, coalesce.Options[string, int]{})
		errOrigin := errors.New("origin down")
		var calls atomic.Int32
		gate := make(chan struct{})
		_, _, errs := stampede(t, g, 1000, gate, func(context.Context) (int, error) {
			calls.Add(1)
			<-gate
			return 0, errOrigin
		})
		if n := calls.Load(); n != 1 {
			t.Fatalf("fn ran %d times, want 1", n)
		}
		for i, err := range errs {
			if err != errOrigin {
				t.Fatalf("caller %d got %v, want %v", i, err, errOrigin)
			}
		}
		if n := g.Len(); n != 0 {
			t.Errorf("Len after = %d, want 0", n)
		}
	})
}

func TestLeaderLeavesOthersGetValue(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := newGroup(t, coalesce.Options[string, int]{})
		gate := make(chan struct{})
		var sawCancel atomic.Bool
		fn := func(ctx context.Context) (int, error) {
			<-gate
			sawCancel.Store(ctx.Err() != nil)
			return 7, nil
		}
		ctx, cancel := context.WithCancel(context.Background())
		leaderErr := make(chan error, 1)
		go func() {
			_, leader, err := g.Do(ctx, "k", fn)
			if !leader {
				err = errors.New("the caller that started the call was not told it leads")
			}
			leaderErr <- err
		}()
		synctest.Wait()
		other := make(chan int, 1)
		go func() {
			v, _, _ := g.Do(context.Background(), "k", fn)
			other <- v
		}()
		synctest.Wait()
		cancel()
		if err := <-leaderErr; !errors.Is(err, context.Canceled) {
			t.Fatalf("leader got %v, want context.Canceled", err)
		}
		close(gate)
		if v := <-other; v != 7 {
			t.Fatalf("waiter got %d, want 7", v)
		}
		if sawCancel.Load() {
			t.Error("fn's context was cancelled with its leader's")
		}
		if n := g.Len(); n != 0 {
			t.Errorf("Len after = %d, want 0", n)
		}
	})
}

func TestContextValuesReachFn(t *testing.T) {
	g := newGroup(t, coalesce.Options[string, string]{})
	type ctxKey struct{}
	ctx := context.WithValue(context.Background(), ctxKey{}, "trace-1")
	v, leader, err := g.Do(ctx, "k", func(ctx context.Context) (string, error) {
		s, _ := ctx.Value(ctxKey{}).(string)
		return s, nil
	})
	if v != "trace-1" || !leader || err != nil {
		t.Fatalf("Do = (%q, %v, %v), want (trace-1, true, nil)", v, leader, err)
	}
}

func TestPanicReachesAllAndLeaderRepanics(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := newGroup(t, coalesce.Options[string, int]{})
		gate := make(chan struct{})
		fn := func(context.Context) (int, error) {
			<-gate
			panic("boom")
		}
		leaderPanic := make(chan any, 1)
		go func() {
			defer func() { leaderPanic <- recover() }()
			g.Do(context.Background(), "k", fn)
		}()
		synctest.Wait()
		const waiters = 10
		errs := make(chan error, waiters)
		for range waiters {
			go func() {
				_, leader, err := g.Do(context.Background(), "k", fn)
				if leader {
					err = errors.New("a waiter was told it led")
				}
				errs <- err
			}()
		}
		synctest.Wait()
		close(gate)
		p, ok := (<-leaderPanic).(*coalesce.PanicError)
		if !ok || p.Value != "boom" {
			t.Fatalf("leader panicked with %v, want *PanicError{boom}", p)
		}
		if !strings.Contains(string(p.Stack), "TestPanicReachesAllAndLeaderRepanics") {
			t.Errorf("panic stack does not name the panicking function:\n%s", p.Stack)
		}
		for range waiters {
			var pe *coalesce.PanicError
			if err := <-errs; !errors.As(err, &pe) || pe.Value != "boom" {
				t.Fatalf("waiter got %v, want *PanicError{boom}", err)
			}
		}
		// The key is free at once.
		if n := g.Len(); n != 0 {
			t.Fatalf("Len after the panic = %d, want 0", n)
		}
		v, leader, err := g.Do(context.Background(), "k", func(context.Context) (int, error) { return 1, nil })
		if v != 1 || !leader || err != nil {
			t.Fatalf("Do after the panic = (%d, %v, %v), want (1, true, nil)", v, leader, err)
		}
	})
}

func TestPanicErrorUnwrap(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := newGroup(t, coalesce.Options[string, int]{})
		errInner := errors.New("inner")
		gate := make(chan struct{})
		if !g.Go(context.Background(), "k", func(context.Context) (int, error) { <-gate; panic(errInner) }) {
			t.Fatal("Go did not start")
		}
		res := make(chan error, 1)
		go func() {
			_, _, err := g.Do(context.Background(), "k", func(context.Context) (int, error) { return 0, nil })
			res <- err
		}()
		synctest.Wait()
		close(gate)
		err := <-res
		var pe *coalesce.PanicError
		if !errors.As(err, &pe) || !errors.Is(err, errInner) {
			t.Fatalf("waiter got %v, want a *PanicError wrapping %v", err, errInner)
		}
	})
}

// TestGoexitReleasesKey: a loader that calls runtime.Goexit releases its
// key and its waiters with ErrGoexit. A leader whose context can end ran
// it on a goroutine of its own and gets ErrGoexit too; a leader that cannot
// leave ran it on its own goroutine, which the Goexit ends.
func TestGoexitReleasesKey(t *testing.T) {
	for _, cancellable := range []bool{true, false} {
		t.Run(fmt.Sprintf("cancellable=%v", cancellable), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				g := newGroup(t, coalesce.Options[string, int]{})
				gate := make(chan struct{})
				fn := func(context.Context) (int, error) {
					<-gate
					runtime.Goexit()
					return 1, nil
				}
				ctx := context.Background()
				if cancellable {
					var cancel context.CancelFunc
					ctx, cancel = context.WithCancel(ctx)
					defer cancel()
				}
				const callers = 10
				errs := make(chan error, callers)
				for range callers {
					go func() {
						_, _, err := g.Do(ctx, "k", fn)
						errs <- err
					}()
				}
				synctest.Wait()
				close(gate)
				synctest.Wait()
				want := callers
				if !cancellable {
					want-- // the leader's goroutine is gone
				}
				if len(errs) != want {
					t.Fatalf("%d callers returned, want %d", len(errs), want)
				}
				for range want {
					if err := <-errs; err != coalesce.ErrGoexit {
						t.Fatalf("caller got %v, want ErrGoexit", err)
					}
				}
				if n := g.Len(); n != 0 {
					t.Fatalf("Len after Goexit = %d, want 0", n)
				}
				v, _, err := g.Do(ctx, "k", func(context.Context) (int, error) { return 2, nil })
				if v != 2 || err != nil {
					t.Fatalf("Do after Goexit = (%d, %v), want (2, nil)", v, err)
				}
			})
		})
	}
}

func TestLockTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := newGroup(t, coalesce.Options[string, int]{LockTimeout: time.Second})
		gate := make(chan struct{})
		var calls atomic.Int32
		fn := func(context.Context) (int, error) {
			calls.Add(1)
			<-gate
			return 5, nil
		}
		leader := make(chan int, 1)
		go func() {
			// A ctx that can end: the leader waits for the call as
			// joiners do (with neither it nor a LoadTimeout, fn runs on
			// the leader's goroutine).
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			v, _, _ := g.Do(ctx, "k", fn)
			leader <- v
		}()
		synctest.Wait()
		start := time.Now()
		_, _, err := g.Do(context.Background(), "k", fn)
		if err != coalesce.ErrLockTimeout {
			t.Fatalf("waiter got %v, want ErrLockTimeout", err)
		}
		if d := time.Since(start); d != time.Second {
			t.Errorf("waiter gave up after %v, want 1s", d)
		}
		if n := calls.Load(); n != 1 {
			t.Errorf("fn ran %d times, want 1: a timed-out waiter must not load", n)
		}
		// The leader is not bound by the lock timeout.
		synctest.Wait()
		select {
		case <-leader:
			t.Fatal("leader returned before its call finished")
		default:
		}
		close(gate)
		if v := <-leader; v != 5 {
			t.Fatalf("leader got %d, want 5", v)
		}
	})
}

func TestLoadTimeoutFreesKeyWhileFnHangs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var committed atomic.Int32
		g := newGroup(t, coalesce.Options[string, int]{
			LoadTimeout: time.Second,
			Commit: func(_ string, v int, err error) func() {
				if err == nil {
					committed.Add(1)
				}
				return nil
			},
		})
		hang := make(chan struct{})
		var sawDeadline atomic.Bool
		fn := func(ctx context.Context) (int, error) {
			<-hang // ignores ctx
			sawDeadline.Store(ctx.Err() == context.DeadlineExceeded)
			return 1, nil
		}
		start := time.Now()
		const callers = 5
		errs := make(chan error, callers)
		for range callers {
			go func() {
				_, _, err := g.Do(context.Background(), "k", fn)
				errs <- err
			}()
		}
		for range callers {
			if err := <-errs; err != coalesce.ErrLoadTimeout {
				t.Fatalf("caller got %v, want ErrLoadTimeout", err)
			}
		}
		if d := time.Since(start); d != time.Second {
			t.Errorf("callers returned after %v, want 1s", d)
		}
		if n := g.Len(); n != 0 {
			t.Fatalf("Len after the load timeout = %d, want 0", n)
		}
		// A new call starts at once although the old fn still hangs.
		v, leader, err := g.Do(context.Background(), "k", func(context.Context) (int, error) { return 2, nil })
		if v != 2 || !leader || err != nil {
			t.Fatalf("Do after the timeout = (%d, %v, %v), want (2, true, nil)", v, leader, err)
		}
		close(hang)
		synctest.Wait()
		if !sawDeadline.Load() {
			t.Error("fn's context did not end at the load timeout")
		}
		if n := committed.Load(); n != 1 {
			t.Errorf("%d successful commits, want 1 (the late result must be dropped)", n)
		}
	})
}

func TestLockAgeSupersedes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var commits []int
		g := newGroup(t, coalesce.Options[string, int]{
			LockAge: time.Second,
			Commit:  func(_ string, v int, _ error) func() { commits = append(commits, v); return nil },
		})
		slow, young := make(chan struct{}), make(chan struct{})
		old, fresh := make(chan int, 1), make(chan int, 1)
		go func() {
			v, _, _ := g.Do(context.Background(), "k", func(context.Context) (int, error) { <-slow; return 1, nil })
			old <- v
		}()
		synctest.Wait()
		// Younger than LockAge: a caller joins.
		time.Sleep(time.Second - time.Nanosecond)
		if g.Go(context.Background(), "k", func(context.Context) (int, error) { return 9, nil }) {
			t.Fatal("Go started a second call while the first held the key")
		}
		time.Sleep(time.Nanosecond)
		go func() {
			v, leader, _ := g.Do(context.Background(), "k", func(context.Context) (int, error) { <-young; return 2, nil })
			if !leader {
				v = -v
			}
			fresh <- v
		}()
		synctest.Wait()
		// The superseded call finishes while the new one holds the key:
		// its result is committed (nothing younger was), and the new
		// call keeps the key and commits over it.
		close(slow)
		if v := <-old; v != 1 {
			t.Fatalf("the old call's caller got %d, want 1", v)
		}
		if !slices.Equal(commits, []int{1}) || g.Len() != 1 {
			t.Fatalf("after the old call finished: commits %v, Len %d; want [1], 1", commits, g.Len())
		}
		close(young)
		if v := <-fresh; v != 2 {
			t.Fatalf("the caller after LockAge got %d, want 2 as leader", v)
		}
		if !slices.Equal(commits, []int{1, 2}) || g.Len() != 0 {
			t.Errorf("commits %v, Len %d; want [1 2], 0", commits, g.Len())
		}
	})
}

func TestForgetDetaches(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var commits []int
		g := newGroup(t, coalesce.Options[string, int]{
			Commit: func(_ string, v int, _ error) func() { commits = append(commits, v); return nil },
		})
		gate1, gate2 := make(chan struct{}), make(chan struct{})
		first, second := make(chan int, 1), make(chan int, 1)
		go func() {
			v, _, _ := g.Do(context.Background(), "k", func(context.Context) (int, error) { <-gate1; return 1, nil })
			first <- v
		}()
		synctest.Wait()
		ran := false
		if !g.Forget("k", func() { ran = true }) {
			t.Fatal("Forget found no call")
		}
		if !ran {
			t.Fatal("Forget did not run f")
		}
		if g.Forget("absent", nil) {
			t.Error("Forget of an absent key reported a call")
		}
		go func() {
			v, leader, _ := g.Do(context.Background(), "k", func(context.Context) (int, error) { <-gate2; return 2, nil })
			if !leader {
				v = -v
			}
			second <- v
		}()
		synctest.Wait()
		// The detached call finishes while the new one holds the key.
		close(gate1)
		if v := <-first; v != 1 {
			t.Fatalf("the detached call's caller got %d, want 1", v)
		}
		if len(commits) != 0 || g.Len() != 1 {
			t.Fatalf("after the detached call finished: commits %v, Len %d; want [], 1", commits, g.Len())
		}
		close(gate2)
		if v := <-second; v != 2 {
			t.Fatalf("the new call's caller got %d, want 2 as leader", v)
		}
		if len(commits) != 1 || commits[0] != 2 || g.Len() != 0 {
			t.Errorf("commits %v, Len %d; want [2], 0", commits, g.Len())
		}
	})
}

// ForgetAll detaches every call in flight: none commits, each caller
// still gets its call's result, and the keys are free for new calls.
func TestForgetAllDetachesEveryCall(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var commits []string
		g := newGroup(t, coalesce.Options[string, int]{
			Commit: func(k string, _ int, _ error) func() { commits = append(commits, k); return nil },
		})
		gate := make(chan struct{})
		got := make(chan int, 3)
		for i, k := range []string{"a", "b", "c"} {
			go func() {
				v, _, _ := g.Do(context.Background(), k, func(context.Context) (int, error) { <-gate; return i, nil })
				got <- v
			}()
		}
		synctest.Wait()
		if n := g.Len(); n != 3 {
			t.Fatalf("Len = %d before ForgetAll, want 3", n)
		}
		g.ForgetAll()
		if n := g.Len(); n != 0 || g.InFlight("a") {
			t.Fatalf("after ForgetAll: Len %d, a in flight %v; want 0, false", n, g.InFlight("a"))
		}
		close(gate)
		sum := 0
		for range 3 {
			sum += <-got
		}
		if sum != 0+1+2 || len(commits) != 0 {
			t.Fatalf("callers got values summing to %d (want 3), commits %v (want none)", sum, commits)
		}
		if v, leader, _ := g.Do(context.Background(), "a", func(context.Context) (int, error) { return 7, nil }); v != 7 || !leader || !slices.Equal(commits, []string{"a"}) {
			t.Errorf("a new call of a: (%d, leader %v), commits %v; want (7, true), [a]", v, leader, commits)
		}
	})
}

func TestRecheckSkipsFn(t *testing.T) {
	stored := map[string]int{"hit": 3}
	var mu sync.Mutex
	g := newGroup(t, coalesce.Options[string, int]{
		Recheck: func(k string) (int, bool, error) {
			mu.Lock()
			defer mu.Unlock()
			v, ok := stored[k]
			return v, ok, nil
		},
	})
	var calls atomic.Int32
	fn := func(context.Context) (int, error) { calls.Add(1); return 4, nil }
	v, leader, err := g.Do(context.Background(), "hit", fn)
	if v != 3 || leader || err != nil || calls.Load() != 0 {
		t.Fatalf("Do(hit) = (%d, %v, %v) after %d calls, want (3, false, nil) after 0", v, leader, err, calls.Load())
	}
	if g.Go(context.Background(), "hit", fn) {
		t.Error("Go started fn although Recheck answered")
	}
	v, leader, err = g.Do(context.Background(), "miss", fn)
	if v != 4 || !leader || err != nil || calls.Load() != 1 {
		t.Fatalf("Do(miss) = (%d, %v, %v) after %d calls, want (4, true, nil) after 1", v, leader, err, calls.Load())
	}
}

// Go runs RecheckGo where it is set, and Do, DoBatch and Go without it
// run Recheck.
func TestRecheckGoIsGosOwn(t *testing.T) {
	var rechecks, rechecksGo atomic.Int32
	g := newGroup(t, coalesce.Options[string, int]{
		Recheck:   func(string) (int, bool, error) { rechecks.Add(1); return 3, true, nil },
		RecheckGo: func(string) (int, bool, error) { rechecksGo.Add(1); return 0, false, nil },
	})
	done := make(chan struct{})
	if !g.Go(context.Background(), "k", func(context.Context) (int, error) { close(done); return 4, nil }) {
		t.Fatal("Go did not start fn although RecheckGo did not answer")
	}
	<-done
	for g.Len() != 0 { // the call ends just after fn returns
		runtime.Gosched()
	}
	if v, leader, err := g.Do(context.Background(), "k", func(context.Context) (int, error) { return 5, nil }); v != 3 || leader || err != nil {
		t.Errorf("Do = (%d, %v, %v), want Recheck's (3, false, nil)", v, leader, err)
	}
	res := g.DoBatch(context.Background(), []string{"b"}, func(_ context.Context, keys []string) ([]coalesce.Result[int], error) {
		return make([]coalesce.Result[int], len(keys)), nil
	})
	if len(res) != 1 || res[0].Val != 3 || res[0].Err != nil {
		t.Errorf("DoBatch = %+v, want Recheck's 3", res)
	}
	if rechecks.Load() != 2 || rechecksGo.Load() != 1 {
		t.Errorf("Recheck ran %d times, RecheckGo %d; want 2 (Do, DoBatch) and 1 (Go)", rechecks.Load(), rechecksGo.Load())
	}
	h := newGroup(t, coalesce.Options[string, int]{
		Recheck: func(string) (int, bool, error) { rechecks.Add(1); return 3, true, nil },
	})
	if h.Go(context.Background(), "k", func(context.Context) (int, error) { return 4, nil }) {
		t.Error("Go without RecheckGo started fn although Recheck answered")
	}
	// Do runs fn on a goroutine of its own where its caller may leave (a
	// ctx that can end, a LoadTimeout): it is still Do's Recheck.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rechecks.Store(0)
	rechecksGo.Store(0)
	timed := newGroup(t, coalesce.Options[string, int]{
		LoadTimeout: time.Hour,
		Recheck:     func(string) (int, bool, error) { rechecks.Add(1); return 3, true, nil },
		RecheckGo:   func(string) (int, bool, error) { rechecksGo.Add(1); return 0, false, nil },
	})
	for _, c := range []struct {
		g   *coalesce.Group[string, int]
		ctx context.Context
	}{{g, ctx}, {timed, context.Background()}} {
		if v, leader, err := c.g.Do(c.ctx, "k", func(context.Context) (int, error) { return 5, nil }); v != 3 || leader || err != nil {
			t.Errorf("Do on its own goroutine = (%d, %v, %v), want Recheck's (3, false, nil)", v, leader, err)
		}
	}
	if rechecks.Load() != 2 || rechecksGo.Load() != 0 {
		t.Errorf("Do on its own goroutine: Recheck ran %d times, RecheckGo %d; want 2 and 0", rechecks.Load(), rechecksGo.Load())
	}
}

// A caller that joined another's call stops its lock timer once it stops
// waiting (Do and DoBatch alike): a timer left running holds its closure
// and channel for the rest of the LockTimeout, for every joined caller.
func TestJoinersStopTheirLockTimers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		var timers []*time.Timer
		defer func(f func(time.Duration, func()) *time.Timer) { *coalesce.AfterFunc = f }(*coalesce.AfterFunc)
		*coalesce.AfterFunc = func(d time.Duration, f func()) *time.Timer {
			tm := time.AfterFunc(d, f)
			mu.Lock()
			timers = append(timers, tm)
			mu.Unlock()
			return tm
		}
		g := newGroup(t, coalesce.Options[string, int]{LockTimeout: time.Hour})
		gate := make(chan struct{})
		fn := func(context.Context) (int, error) { <-gate; return 1, nil }
		go g.Do(context.Background(), "k", fn)
		synctest.Wait()
		done := make(chan struct{}, 2)
		go func() { g.Do(context.Background(), "k", fn); done <- struct{}{} }()
		go func() {
			g.DoBatch(context.Background(), []string{"k"}, func(context.Context, []string) ([]coalesce.Result[int], error) { return nil, nil })
			done <- struct{}{}
		}()
		synctest.Wait()
		close(gate)
		<-done
		<-done
		if len(timers) != 2 {
			t.Fatalf("%d lock timers started, want 2 (the joined Do and DoBatch)", len(timers))
		}
		for i, tm := range timers {
			if tm.Stop() {
				t.Errorf("lock timer %d was still running after its caller returned", i)
			}
		}
	})
}

// A load timeout is the call's outcome like any error: Commit stores it
// (an RTCache with ErrorTTL caches it, so a hung origin is asked once per
// ErrorTTL, not once per LoadTimeout), and Finished reports it.
func TestLoadTimeoutIsCommitted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var committed, finished []error
		g := newGroup(t, coalesce.Options[string, int]{
			LoadTimeout: time.Second,
			Commit:      func(_ string, _ int, err error) func() { committed = append(committed, err); return nil },
			Finished:    func(_ string, err error) { finished = append(finished, err) },
		})
		hang := make(chan struct{})
		if _, _, err := g.Do(context.Background(), "k", func(context.Context) (int, error) { <-hang; return 1, nil }); err != coalesce.ErrLoadTimeout {
			t.Fatalf("Do = %v, want ErrLoadTimeout", err)
		}
		close(hang)
		synctest.Wait()
		if !slices.Equal(committed, []error{coalesce.ErrLoadTimeout}) || !slices.Equal(finished, []error{coalesce.ErrLoadTimeout}) {
			t.Errorf("Commit saw %v, Finished %v; want ErrLoadTimeout once each", committed, finished)
		}
	})
}

// The ctx a call's function runs with ends once the call is over: a
// context.AfterFunc, goroutine or stream the function ties to it is
// released then, not at its LoadTimeout.
func TestLoadContextEndsWithTheCall(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := newGroup(t, coalesce.Options[string, int]{LoadTimeout: time.Hour})
		var seen []context.Context
		fn := func(ctx context.Context) (int, error) { seen = append(seen, ctx); return 1, nil }
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		g.Do(ctx, "do", fn)
		g.DoBatch(ctx, []string{"batch"}, func(ctx context.Context, keys []string) ([]coalesce.Result[int], error) {
			seen = append(seen, ctx)
			return make([]coalesce.Result[int], len(keys)), nil
		})
		g.Go(ctx, "go", fn)
		synctest.Wait()
		if len(seen) != 3 {
			t.Fatalf("%d functions ran, want 3", len(seen))
		}
		for i, c := range seen {
			if c.Err() != context.Canceled {
				t.Errorf("call %d (Do, DoBatch, Go): its function's ctx has %v once it is over, want context.Canceled", i, c.Err())
			}
		}
	})
}

// TestPanicInForgetDoesNotLockTheKey: f runs under a lock of the wait map;
// a panic in it must release that lock (else the next Do of the key, or of
// any key in its bucket, would hang).
func TestPanicInForgetDoesNotLockTheKey(t *testing.T) {
	g := newGroup(t, coalesce.Options[string, int]{})
	func() {
		defer func() {
			if r := recover(); r != "forget bug" {
				t.Errorf("Forget panicked with %v, want forget bug", r)
			}
		}()
		g.Forget("k", func() { panic("forget bug") })
	}()
	v, leader, err := g.Do(context.Background(), "k", func(context.Context) (int, error) { return 2, nil })
	if v != 2 || !leader || err != nil {
		t.Fatalf("Do after a panicking Forget = (%d, %v, %v)", v, leader, err)
	}
}

func TestRecheckError(t *testing.T) {
	errCached := errors.New("cached failure")
	g := newGroup(t, coalesce.Options[string, int]{
		Recheck: func(string) (int, bool, error) { return 0, true, errCached },
	})
	_, leader, err := g.Do(context.Background(), "k", func(context.Context) (int, error) {
		t.Error("fn ran although Recheck answered")
		return 0, nil
	})
	if err != errCached || leader {
		t.Fatalf("Do = (%v, %v), want (false, %v)", leader, err, errCached)
	}
}

// Finished, Commit and its after function all run before any caller of
// the call wakes, for Do and for each key of a DoBatch: each blocks in
// turn while a joined caller is shown to be still waiting (a waiter woken
// any earlier would have returned by synctest.Wait).
func TestCommitAfterAndFinishedBeforeWaitersWake(t *testing.T) {
	for _, batch := range []bool{false, true} {
		synctest.Test(t, func(t *testing.T) {
			var stored atomic.Int64
			gates := map[string]chan struct{}{"commit": make(chan struct{}), "after": make(chan struct{}), "finished": make(chan struct{})}
			g := newGroup(t, coalesce.Options[string, int64]{
				Commit: func(_ string, v int64, _ error) func() {
					<-gates["commit"]
					stored.Store(v)
					return func() { <-gates["after"] }
				},
				Finished: func(string, error) { <-gates["finished"] },
			})
			load := make(chan struct{})
			var returned atomic.Int32
			var got atomic.Int64
			lead := func() {
				if batch {
					res := g.DoBatch(context.Background(), []string{"k"}, func(context.Context, []string) ([]coalesce.Result[int64], error) {
						<-load
						return []coalesce.Result[int64]{{Val: 5}}, nil
					})
					got.Store(res[0].Val)
				} else {
					g.Do(context.Background(), "k", func(context.Context) (int64, error) { <-load; return 5, nil })
				}
				returned.Add(1)
			}
			go lead()
			synctest.Wait() // the leader's function waits for load
			go func() {
				v, leader, err := g.Do(context.Background(), "k", func(context.Context) (int64, error) { return -1, nil })
				if v != 5 || leader || err != nil {
					t.Errorf("joined caller got (%d, %v, %v), want (5, false, nil)", v, leader, err)
				}
				if stored.Load() != 5 {
					t.Errorf("joined caller woke with %d committed, want 5", stored.Load())
				}
				returned.Add(1)
			}()
			synctest.Wait()
			close(load)
			for _, step := range []string{"finished", "commit", "after"} {
				synctest.Wait() // blocked in this step
				if n := returned.Load(); n != 0 {
					t.Fatalf("batch %v: %d callers returned while %s was still running", batch, n, step)
				}
				close(gates[step])
			}
			synctest.Wait()
			if n := returned.Load(); n != 2 {
				t.Fatalf("batch %v: %d callers returned, want 2", batch, n)
			}
		})
	}
}

func TestGoCoalescesWithDo(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := newGroup(t, coalesce.Options[string, int]{})
		gate := make(chan struct{})
		var calls atomic.Int32
		fn := func(context.Context) (int, error) { calls.Add(1); <-gate; return 8, nil }
		if !g.Go(context.Background(), "k", fn) {
			t.Fatal("Go did not start a call")
		}
		for range 100 {
			if g.Go(context.Background(), "k", fn) {
				t.Fatal("Go started a second call for a key in flight")
			}
		}
		res := make(chan int, 1)
		go func() {
			v, leader, _ := g.Do(context.Background(), "k", fn)
			if leader {
				v = -1
			}
			res <- v
		}()
		synctest.Wait()
		close(gate)
		if v := <-res; v != 8 {
			t.Fatalf("Do joined to Go's call got %d, want 8 (not as leader)", v)
		}
		if n := calls.Load(); n != 1 {
			t.Errorf("fn ran %d times, want 1", n)
		}
	})
}

func TestNewRejectsNegative(t *testing.T) {
	for _, o := range []coalesce.Options[int, int]{
		{LockAge: -1}, {LockTimeout: -1}, {LoadTimeout: -1},
	} {
		if _, err := coalesce.New(o); err == nil || !strings.HasPrefix(err.Error(), "coalesce: ") {
			t.Errorf("New(%+v) error = %v, want a coalesce: error", o, err)
		}
	}
}

// TestNoGoroutineLeak runs every failure mode and counts goroutines before
// and after.
func TestNoGoroutineLeak(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		before := runtime.NumGoroutine()
		g := newGroup(t, coalesce.Options[string, int]{LockTimeout: time.Second, LoadTimeout: 2 * time.Second})
		fns := []func(context.Context) (int, error){
			func(context.Context) (int, error) { return 1, nil },
			func(context.Context) (int, error) { return 0, errors.New("x") },
			func(context.Context) (int, error) { panic("x") },
			func(context.Context) (int, error) { runtime.Goexit(); return 0, nil },
			func(ctx context.Context) (int, error) { <-ctx.Done(); return 0, ctx.Err() },
			func(context.Context) (int, error) { time.Sleep(3 * time.Second); return 0, nil }, // ignores ctx
		}
		var wg sync.WaitGroup
		for i, fn := range fns {
			for range 5 {
				wg.Go(func() {
					defer func() { recover() }()
					ctx, cancel := context.WithTimeout(context.Background(), time.Duration(i)*time.Second/2)
					defer cancel()
					g.Do(ctx, "k", fn)
				})
			}
		}
		wg.Wait()
		time.Sleep(4 * time.Second) // past every fn, timer and timeout
		synctest.Wait()
		if after := runtime.NumGoroutine(); after > before {
			// The count is the process's: the runtime may hold a goroutine
			// of its own for a moment. A leak runs coalesce code.
			buf := make([]byte, 1<<20)
			stacks := string(buf[:runtime.Stack(buf, true)])
			if n := strings.Count(stacks, "github.com/ufocache/ufocache/coalesce.("); n > 0 {
				t.Errorf("%d goroutines before, %d after, with coalesce frames:\n%s", before, after, stacks)
			}
		}
		if n := g.Len(); n != 0 {
			t.Errorf("Len after = %d, want 0", n)
		}
	})
}

// TestLoaderRunsOnTheCaller: a leader that cannot leave runs fn itself
// (the panic's stack names the caller's goroutine); one that can leave
// runs it on a goroutine of its own.
func TestLoaderRunsOnTheCaller(t *testing.T) {
	g := newGroup(t, coalesce.Options[string, int]{})
	goroutineOf := func(stack []byte) string { // "goroutine 7 [running]:..."
		f := strings.Fields(string(stack))
		if len(f) < 2 {
			return ""
		}
		return f[1]
	}
	loaderGoroutine := func(ctx context.Context) (id string) {
		defer func() {
			if p, ok := recover().(*coalesce.PanicError); ok {
				id = goroutineOf(p.Stack)
			}
		}()
		g.Do(ctx, "k", func(context.Context) (int, error) { panic("boom") })
		return ""
	}
	buf := make([]byte, 64)
	me := goroutineOf(buf[:runtime.Stack(buf, false)])
	if id := loaderGoroutine(context.Background()); id != me {
		t.Fatalf("Background: fn ran on goroutine %q, want the caller's (%s)", id, me)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if id := loaderGoroutine(ctx); id == "" || id == me {
		t.Fatalf("cancellable ctx: fn ran on goroutine %q, the caller is %s", id, me)
	}
}

// A caller that arrives while a finished load's Commit is storing its
// result must not take that result: the value may be replaced or deleted
// before the caller's lookup (RTCache: a Cache.Delete between the store
// and the key's release let a later Get return the deleted value). It
// waits for the key and runs a call of its own.
func TestNoJoiningAFinishedCall(t *testing.T) {
	inCommit, release := make(chan struct{}), make(chan struct{})
	g, err := coalesce.New(coalesce.Options[string, int]{
		Commit: func(_ string, v int, _ error) func() {
			if v == 1 {
				close(inCommit)
				<-release
			}
			return nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	first := make(chan int)
	go func() {
		v, _, _ := g.Do(ctx, "k", func(context.Context) (int, error) { return 1, nil })
		first <- v
	}()
	<-inCommit
	// The second caller finds the finished call: it waits for the wait
	// map's lock, which Commit holds (or, wrongly, joins the call).
	second := secondCaller(t, g)
	close(release)
	if v := <-first; v != 1 {
		t.Fatalf("first caller got %d, want 1", v)
	}
	if r := <-second; r.v != 2 || !r.leader {
		t.Fatalf("second caller got %d (leader %v), want its own load's 2", r.v, r.leader)
	}
}

// doResult is what a Do returned: its value, and whether it led.
type doResult struct {
	v      int
	leader bool
}

// secondCaller starts a Do of "k" whose own load would return 2, and
// returns once that caller waits for the wait map's lock or has joined a
// call (and waits for its result); its result comes on the channel.
func secondCaller(t *testing.T, g *coalesce.Group[string, int]) <-chan doResult {
	t.Helper()
	second := make(chan doResult, 1)
	go func() {
		v, leader, _ := g.Do(context.Background(), "k", func(context.Context) (int, error) { return 2, nil })
		second <- doResult{v, leader}
	}()
	deadline := time.Now().Add(10 * time.Second)
	for goroutinesIn("coalesce.(*Group[...]).claim", "Mutex).Lock")+goroutinesIn("coalesce.wait[") < 1 {
		if time.Now().After(deadline) {
			t.Fatal("the second caller neither reached the wait map's lock nor joined the call")
		}
		time.Sleep(time.Millisecond)
	}
	return second
}

// TestNoJoiningACallBeingDetached: while Forget's f runs (a write, which
// may already have stored its value), the call it detaches is still in the
// map; a caller that comes then waits for the lock and starts its own call
// (which would find the write's value), rather than joining the detached
// one and answering with a result older than the write.
func TestNoJoiningACallBeingDetached(t *testing.T) {
	g := newGroup(t, coalesce.Options[string, int]{})
	ctx := context.Background()
	loading, finish := make(chan struct{}), make(chan struct{})
	first := make(chan int)
	go func() {
		v, _, _ := g.Do(ctx, "k", func(context.Context) (int, error) {
			close(loading)
			<-finish
			return 1, nil
		})
		first <- v
	}()
	<-loading
	inF, release := make(chan struct{}), make(chan struct{})
	forgot := make(chan bool)
	go func() {
		forgot <- g.Forget("k", func() {
			close(inF)
			<-release
		})
	}()
	<-inF
	// The second caller waits for the wait map's lock, which Forget holds
	// (or, wrongly, joins the call).
	second := secondCaller(t, g)
	close(release)
	if !<-forgot {
		t.Fatal("Forget found no call")
	}
	close(finish)
	if v := <-first; v != 1 {
		t.Fatalf("first caller got %d, want 1", v)
	}
	if r := <-second; r.v != 2 || !r.leader {
		t.Fatalf("second caller got %d (leader %v), want its own load's 2", r.v, r.leader)
	}
}

// recheckingGroup returns a Group whose Recheck answers 1 to its first
// caller once release is closed (what the cache held when that caller
// looked) and 2 at once to every later one (what it holds now), and the
// count of Recheck calls.
func recheckingGroup(t *testing.T) (*coalesce.Group[string, int], chan struct{}, *atomic.Int32) {
	release := make(chan struct{})
	rechecks := new(atomic.Int32)
	g := newGroup(t, coalesce.Options[string, int]{
		Recheck: func(string) (int, bool, error) {
			if rechecks.Add(1) == 1 {
				<-release
				return 1, true, nil
			}
			return 2, true, nil
		},
	})
	return g, release, rechecks
}

// A caller that joins a call Recheck answers looks again: the answer was
// read before it came, and a write may have changed it since.
func TestJoinerOfARecheckLooksAgain(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g, release, rechecks := recheckingGroup(t)
		ctx := context.Background()
		load := func(context.Context) (int, error) { return 3, nil }
		go g.Do(ctx, "k", load)
		synctest.Wait() // the first caller is in Recheck
		second := make(chan int)
		go func() {
			v, _, _ := g.Do(ctx, "k", load)
			second <- v
		}()
		synctest.Wait() // the second caller has joined the first's call
		if n := rechecks.Load(); n != 1 {
			t.Fatalf("Recheck ran %d times before the first returned, want 1 (the second caller joined)", n)
		}
		close(release)
		if v := <-second; v != 2 {
			t.Fatalf("second caller got %d, want 2 (the value when it looked)", v)
		}
	})
}

// ... however many answered calls it joins in a row: here X joins A's call,
// which passes LockAge while its Recheck hangs; B's call takes the key,
// and its Recheck hangs too; A's answers, X looks again and joins B's;
// B's answers, and X must look once more (Do looked again only once, and
// X got B's answer).
func TestJoinerOfTwoRechecksInARowLooksAgain(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		releaseA, releaseB := make(chan struct{}), make(chan struct{})
		var rechecks atomic.Int32
		g := newGroup(t, coalesce.Options[string, int]{
			LockAge: time.Second,
			Recheck: func(string) (int, bool, error) {
				switch rechecks.Add(1) {
				case 1:
					<-releaseA
					return 1, true, nil
				case 2:
					<-releaseB
					return 2, true, nil
				}
				return 3, true, nil // what the cache holds once X looks again
			},
		})
		ctx := context.Background()
		load := func(context.Context) (int, error) { return 9, nil }
		go g.Do(ctx, "k", load) // A
		synctest.Wait()
		x := make(chan int)
		go func() {
			v, _, _ := g.Do(ctx, "k", load)
			x <- v
		}()
		synctest.Wait()
		time.Sleep(2 * time.Second) // A's call is past LockAge
		go g.Do(ctx, "k", load)     // B
		synctest.Wait()
		if n := rechecks.Load(); n != 2 {
			t.Fatalf("setup: %d Rechecks running, want A's and B's", n)
		}
		close(releaseA)
		synctest.Wait()
		close(releaseB)
		if v := <-x; v != 3 {
			t.Fatalf("X got %d, want 3 (it joined two answered calls, and must look again after each)", v)
		}
	})
}

// A call older than LockAge no longer holds its key: InFlight and Len say
// so, as claim does (a refresh that asks InFlight first would otherwise
// never replace a hung load).
func TestInFlightAndLenForgetCallsPastLockAge(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := newGroup(t, coalesce.Options[string, int]{LockAge: time.Second})
		hang := make(chan struct{})
		defer close(hang)
		g.Go(context.Background(), "k", func(context.Context) (int, error) { <-hang; return 1, nil })
		synctest.Wait()
		if !g.InFlight("k") || g.Len() != 1 {
			t.Fatalf("a running call: InFlight %v, Len %d; want true, 1", g.InFlight("k"), g.Len())
		}
		time.Sleep(2 * time.Second)
		if g.InFlight("k") || g.Len() != 0 {
			t.Errorf("a call past LockAge: InFlight %v, Len %d; want false, 0", g.InFlight("k"), g.Len())
		}
		if !g.Go(context.Background(), "k", func(context.Context) (int, error) { return 2, nil }) {
			t.Error("no new call started for a key whose call is past LockAge")
		}
		synctest.Wait()
	})
}

// A Recheck that panics or calls runtime.Goexit does not leave its call
// holding the key: a caller waiting on it gets the panic as a
// *PanicError (or ErrGoexit), and the next caller loads.
func TestFailingRecheckReleasesTheKey(t *testing.T) {
	for _, goexit := range []bool{false, true} {
		synctest.Test(t, func(t *testing.T) {
			inRecheck, release := make(chan struct{}), make(chan struct{})
			var calls atomic.Int32
			g := newGroup(t, coalesce.Options[string, int]{
				Recheck: func(string) (int, bool, error) {
					if calls.Add(1) == 1 {
						close(inRecheck)
						<-release
						if goexit {
							runtime.Goexit()
						}
						panic("recheck bug")
					}
					return 0, false, nil
				},
			})
			var recovered any
			done := make(chan struct{})
			go func() {
				defer close(done)
				defer func() { recovered = recover() }()
				g.Do(context.Background(), "k", func(context.Context) (int, error) { return 1, nil })
			}()
			<-inRecheck
			var werr error
			waited := make(chan struct{})
			go func() {
				defer close(waited)
				_, _, werr = g.Do(context.Background(), "k", func(context.Context) (int, error) { return 3, nil })
			}()
			synctest.Wait() // the second caller has joined the call
			close(release)
			<-done
			<-waited
			var perr *coalesce.PanicError
			switch {
			case !goexit && recovered != "recheck bug":
				t.Errorf("the caller whose Recheck panicked recovered %v, want the panic", recovered)
			case !goexit && !(errors.As(werr, &perr) && perr.Value == "recheck bug"):
				t.Errorf("a waiter got %v, want the Recheck's panic as a *PanicError", werr)
			case goexit && !errors.Is(werr, coalesce.ErrGoexit):
				t.Errorf("a waiter got %v, want ErrGoexit", werr)
			}
			if g.InFlight("k") {
				t.Error("the key is still held after its Recheck failed")
			}
			if v, leader, err := g.Do(context.Background(), "k", func(context.Context) (int, error) { return 2, nil }); v != 2 || !leader || err != nil {
				t.Errorf("the next Do = %d, %v, %v; want 2, true, nil", v, leader, err)
			}
		})
	}
}

// Only a panic in fn makes its leader panic: a *PanicError that fn returns
// (from a layer below, say) is fn's error, for Do and for DoBatch.
func TestReturnedPanicErrorIsAnError(t *testing.T) {
	g := newGroup(t, coalesce.Options[string, int]{})
	ret := &coalesce.PanicError{Value: "from a layer below"}
	func() {
		defer func() {
			if r := recover(); r != nil {
				t.Errorf("Do panicked with %v", r)
			}
		}()
		if _, leader, err := g.Do(context.Background(), "k", func(context.Context) (int, error) { return 0, ret }); err != ret || !leader {
			t.Errorf("Do = %v, leader %v; want the returned *PanicError, leader", err, leader)
		}
	}()
	func() {
		defer func() {
			if r := recover(); r != nil {
				t.Errorf("DoBatch panicked with %v", r)
			}
		}()
		res := g.DoBatch(context.Background(), []string{"a", "b"}, func(context.Context, []string) ([]coalesce.Result[int], error) {
			return nil, ret
		})
		for i, r := range res {
			if r.Err != ret {
				t.Errorf("DoBatch key %d: %v, want the returned *PanicError", i, r.Err)
			}
		}
	}()
}

// Any positive duration is a bound, down to one nanosecond: a LoadTimeout
// of 1ns ends a call whose caller cannot leave (which otherwise runs fn on
// its own goroutine, unbounded), a LockTimeout of 1ns ends a joiner's wait,
// and a LockAge of 1ns frees the key for InFlight, Len and the next caller.
func TestOneNanosecondIsABound(t *testing.T) {
	t.Run("LoadTimeout", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			g := newGroup(t, coalesce.Options[string, int]{LoadTimeout: time.Nanosecond})
			hang := make(chan struct{})
			defer close(hang)
			_, _, err := g.Do(context.Background(), "k", func(context.Context) (int, error) { <-hang; return 1, nil })
			if err != coalesce.ErrLoadTimeout {
				t.Errorf("Do with a 1ns LoadTimeout = %v, want ErrLoadTimeout", err)
			}
		})
	})
	t.Run("LockTimeout", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			g := newGroup(t, coalesce.Options[string, int]{LockTimeout: time.Nanosecond})
			hang := make(chan struct{})
			defer close(hang)
			g.Go(context.Background(), "k", func(context.Context) (int, error) { <-hang; return 1, nil })
			synctest.Wait()
			if _, _, err := g.Do(context.Background(), "k", func(context.Context) (int, error) { return 2, nil }); err != coalesce.ErrLockTimeout {
				t.Errorf("a joiner with a 1ns LockTimeout got %v, want ErrLockTimeout", err)
			}
		})
	})
	t.Run("LockAge", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			g := newGroup(t, coalesce.Options[string, int]{LockAge: time.Nanosecond})
			hang := make(chan struct{})
			defer close(hang)
			g.Go(context.Background(), "k", func(context.Context) (int, error) { <-hang; return 1, nil })
			synctest.Wait()
			time.Sleep(time.Nanosecond)
			if g.InFlight("k") || g.Len() != 0 {
				t.Errorf("a call 1ns old with a 1ns LockAge: InFlight %v, Len %d; want false, 0", g.InFlight("k"), g.Len())
			}
			if v, leader, _ := g.Do(context.Background(), "k", func(context.Context) (int, error) { return 2, nil }); v != 2 || !leader {
				t.Errorf("Do after LockAge = %d (leader %v), want its own call's 2", v, leader)
			}
		})
	})
}

// With a LockAge, Len counts every call that still holds its key, not
// just the first it finds.
func TestLenWithLockAgeCountsEveryCall(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := newGroup(t, coalesce.Options[string, int]{LockAge: time.Hour})
		hang := make(chan struct{})
		defer close(hang)
		for _, k := range []string{"a", "b", "c"} {
			g.Go(context.Background(), k, func(context.Context) (int, error) { <-hang; return 1, nil })
		}
		synctest.Wait()
		if n := g.Len(); n != 3 {
			t.Errorf("Len with 3 calls in flight = %d, want 3", n)
		}
	})
}

// A key that is not equal to itself (a NaN) could never be found again to
// be released: each of its callers runs a call of its own, as its leader,
// and nothing of it stays in the wait map.
func TestNaNKeyIsNotShared(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := newGroup(t, coalesce.Options[float64, int]{})
		nan := math.NaN()
		gate := make(chan struct{})
		var calls atomic.Int32
		type res struct {
			v      int
			leader bool
			err    error
		}
		out := make(chan res, 2)
		for range 2 {
			go func() {
				v, leader, err := g.Do(context.Background(), nan, func(context.Context) (int, error) {
					n := calls.Add(1)
					<-gate
					return int(n), nil
				})
				out <- res{v, leader, err}
			}()
		}
		synctest.Wait()
		if n := calls.Load(); n != 2 {
			t.Errorf("two callers of NaN ran %d calls, want 2", n)
		}
		close(gate)
		for range 2 {
			if r := <-out; r.v == 0 || !r.leader || r.err != nil {
				t.Errorf("a caller of NaN got %+v, want its own call's value as leader", r)
			}
		}
		if n := g.Len(); n != 0 {
			t.Errorf("Len after the NaN calls = %d, want 0", n)
		}
	})
}

// goroutinesIn counts the goroutines whose stack has every one of frames.
func goroutinesIn(frames ...string) int {
	buf := make([]byte, 1<<20)
	n := 0
	for _, g := range strings.Split(string(buf[:runtime.Stack(buf, true)]), "\n\n") {
		in := true
		for _, f := range frames {
			in = in && strings.Contains(g, f)
		}
		if in {
			n++
		}
	}
	return n
}

// Two callers that both find the key free, and then meet at the wait map's
// lock, share one call: the second joins the call the first created (it
// neither runs fn again nor takes the call out of the map). Forget's
// function holds that lock while they get there.
func TestCallersMeetingAtTheLockShareOneCall(t *testing.T) {
	var commits, calls atomic.Int32
	g := newGroup(t, coalesce.Options[string, int]{
		Commit: func(string, int, error) func() { commits.Add(1); return nil },
	})
	holding, hold, gate := make(chan struct{}), make(chan struct{}), make(chan struct{})
	forgot := make(chan struct{})
	go func() {
		defer close(forgot)
		g.Forget("k", func() { close(holding); <-hold })
	}()
	<-holding
	type res struct {
		v      int
		leader bool
	}
	out := make(chan res, 2)
	for range 2 {
		go func() {
			v, leader, _ := g.Do(context.Background(), "k", func(context.Context) (int, error) {
				calls.Add(1)
				<-gate
				return 5, nil
			})
			out <- res{v, leader}
		}()
	}
	// Both callers have looked (the map is empty) and wait for the lock.
	deadline := time.Now().Add(10 * time.Second)
	for goroutinesIn("coalesce.(*Group[...]).claim", "Mutex).Lock") < 2 {
		if time.Now().After(deadline) {
			t.Fatal("the callers did not reach the wait map's lock")
		}
		time.Sleep(time.Millisecond)
	}
	close(hold)
	<-forgot
	// One caller runs fn, the other waits for its call (or, wrongly, runs
	// fn too).
	deadline = time.Now().Add(10 * time.Second)
	for !(calls.Load() == 1 && goroutinesIn("coalesce.wait[") == 1) && calls.Load() < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("fn ran %d times and %d callers wait, want 1 and 1", calls.Load(), goroutinesIn("coalesce.wait["))
		}
		time.Sleep(time.Millisecond)
	}
	if n := g.Len(); n != 1 {
		t.Errorf("Len while the shared call runs = %d, want 1", n)
	}
	close(gate)
	leaders := 0
	for range 2 {
		r := <-out
		if r.v != 5 {
			t.Errorf("a caller got %d, want 5", r.v)
		}
		if r.leader {
			leaders++
		}
	}
	if n := calls.Load(); n != 1 || leaders != 1 || commits.Load() != 1 {
		t.Errorf("fn ran %d times, %d leaders, %d commits; want 1, 1, 1", n, leaders, commits.Load())
	}
}

// A call that Recheck answered, or whose Recheck panicked, is not
// committed: Commit stores loads, not what Recheck read from the store.
func TestRecheckedCallsAreNotCommitted(t *testing.T) {
	var commits atomic.Int32
	g := newGroup(t, coalesce.Options[string, int]{
		Recheck: func(k string) (int, bool, error) {
			if k == "bug" {
				panic("recheck bug")
			}
			return 3, k == "hit", nil
		},
		Commit: func(string, int, error) func() { commits.Add(1); return nil },
	})
	fn := func(context.Context) (int, error) { return 4, nil }
	if v, leader, err := g.Do(context.Background(), "hit", fn); v != 3 || leader || err != nil {
		t.Fatalf("Do(hit) = (%d, %v, %v), want (3, false, nil)", v, leader, err)
	}
	func() {
		defer func() { recover() }()
		g.Do(context.Background(), "bug", fn)
	}()
	if n := commits.Load(); n != 0 {
		t.Errorf("%d commits after a Recheck answer and a Recheck panic, want 0", n)
	}
}

// A panic in Commit is raised again, on the goroutine that finished the
// call (here the caller's, which ran fn), once the key is released and
// the waiters have the result.
func TestCommitPanicIsRaisedAfterTheKeyIsReleased(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var commits atomic.Int32
		g := newGroup(t, coalesce.Options[string, int]{
			Commit: func(string, int, error) func() {
				if commits.Add(1) == 1 {
					panic("commit bug")
				}
				return nil
			},
		})
		gate := make(chan struct{})
		var recovered any
		done := make(chan struct{})
		go func() {
			defer close(done)
			defer func() { recovered = recover() }()
			g.Do(context.Background(), "k", func(context.Context) (int, error) { <-gate; return 1, nil })
		}()
		synctest.Wait()
		waiter := make(chan error, 1)
		go func() {
			v, _, err := g.Do(context.Background(), "k", func(context.Context) (int, error) { return 2, nil })
			if err == nil && v != 1 {
				err = fmt.Errorf("got %d, want 1", v)
			}
			waiter <- err
		}()
		synctest.Wait()
		close(gate)
		<-done
		if recovered != "commit bug" {
			t.Errorf("the caller that finished the call recovered %v, want the Commit's panic", recovered)
		}
		if err := <-waiter; err != nil {
			t.Errorf("the waiter: %v", err)
		}
		if n := g.Len(); n != 0 {
			t.Fatalf("Len after the Commit panic = %d, want 0", n)
		}
		if v, leader, err := g.Do(context.Background(), "k", func(context.Context) (int, error) { return 3, nil }); v != 3 || !leader || err != nil {
			t.Errorf("Do after the Commit panic = (%d, %v, %v), want (3, true, nil)", v, leader, err)
		}
	})
}

// A PanicError reads as the panic value and the stack it was raised on
// (TestPanicErrorUnwrap: it unwraps to an error value).
func TestPanicErrorMessage(t *testing.T) {
	g := newGroup(t, coalesce.Options[string, int]{})
	var err error
	func() {
		defer func() { err, _ = recover().(error) }()
		g.Do(context.Background(), "k", func(context.Context) (int, error) { panic("boom") })
	}()
	var pe *coalesce.PanicError
	if !errors.As(err, &pe) || pe.Value != "boom" {
		t.Fatalf("the leader got %v, want a *PanicError of boom", err)
	}
	if msg := err.Error(); !strings.Contains(msg, "boom") || !strings.Contains(msg, "TestPanicErrorMessage") {
		t.Errorf("message %q lacks the value or the stack", msg)
	}
	if errors.Unwrap(err) != nil {
		t.Errorf("a PanicError of a string unwraps to %v, want nil", errors.Unwrap(err))
	}
}

// Even when fn wins the race with the timeout's AfterFunc (see
// wakeFirstAtTheDeadline), its context.DeadlineExceeded does not reach the
// caller: run's ctx.Err() check turns it into ErrLoadTimeout (without it,
// 10 of 10 calls failed here; TestReturningAtTheDeadlineTimesOut caught
// that 1 run in 20, under -race only).
func TestReturningAtTheDeadlineTimesOutWhenFnWinsTheRace(t *testing.T) {
	g := newGroup(t, coalesce.Options[int, int]{LoadTimeout: 50 * time.Millisecond})
	for i := range 10 {
		_, _, err := g.Do(context.Background(), i, func(ctx context.Context) (int, error) {
			return 0, wakeFirstAtTheDeadline(ctx)
		})
		if err != coalesce.ErrLoadTimeout {
			t.Fatalf("call %d got %v, want ErrLoadTimeout", i, err)
		}
	}
}

// A function that returns because its ctx ended at the load timeout (with
// ctx.Err(), as a well-behaved one does) gives every caller
// ErrLoadTimeout, as LoadTimeout says: its outcome raced the timeout's,
// and 14 callers in 300 got context.DeadlineExceeded.
func TestReturningAtTheDeadlineTimesOut(t *testing.T) {
	g := newGroup(t, coalesce.Options[int, int]{LoadTimeout: time.Millisecond})
	const n = 300
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			_, _, errs[i] = g.Do(context.Background(), i, func(ctx context.Context) (int, error) {
				<-ctx.Done()
				return 0, ctx.Err()
			})
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != coalesce.ErrLoadTimeout {
			t.Fatalf("caller %d got %v, want ErrLoadTimeout", i, err)
		}
	}
}
