package coalesce_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ufocache/ufocache/coalesce"
)

// finishedLog records Finished's reports.
type finishedLog struct {
	mu   sync.Mutex
	errs map[string][]error
}

func (l *finishedLog) finished(k string, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.errs == nil {
		l.errs = map[string][]error{}
	}
	l.errs[k] = append(l.errs[k], err)
}

func (l *finishedLog) of(k string) []error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]error(nil), l.errs[k]...)
}

// Finished reports each call whose function started exactly once, with
// the error its callers saw, before they wake: success, error, panic,
// Goexit, load timeout (and not again when fn returns later), a detached
// call, and each key of a batch; not a call that Recheck answered.
func TestFinishedReportsEachStartedCallOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var log finishedLog
		boom := errors.New("boom")
		g := newGroup(t, coalesce.Options[string, int]{
			LoadTimeout: time.Second,
			Finished:    log.finished,
			Recheck: func(k string) (int, bool, error) {
				return 7, k == "rechecked", nil
			},
		})
		do := func(k string, fn func(context.Context) (int, error)) (err error) {
			defer func() {
				if r := recover(); r != nil {
					err = r.(error)
				}
			}()
			_, _, err = g.Do(context.Background(), k, fn)
			return err
		}
		late := make(chan struct{})
		fns := map[string]func(context.Context) (int, error){
			"ok":        func(context.Context) (int, error) { return 1, nil },
			"error":     func(context.Context) (int, error) { return 0, boom },
			"panic":     func(context.Context) (int, error) { panic("at the loader") },
			"goexit":    func(context.Context) (int, error) { runtime.Goexit(); return 0, nil },
			"timeout":   func(context.Context) (int, error) { <-late; return 1, nil },
			"rechecked": func(context.Context) (int, error) { return 1, nil },
		}
		for k, fn := range fns {
			err := do(k, fn)
			// Reported before Do returned: no wait here.
			got := log.of(k)
			switch {
			case k == "rechecked":
				if len(got) != 0 {
					t.Errorf("%s: Finished reported %v for a call Recheck answered", k, got)
				}
			case len(got) != 1:
				t.Errorf("%s: Finished reported %v, want one report", k, got)
			case !sameError(got[0], err):
				t.Errorf("%s: Finished reported %v, the caller got %v", k, got[0], err)
			}
		}
		close(late) // the timed-out fn returns a value: no second report
		synctest.Wait()
		if got := log.of("timeout"); len(got) != 1 || got[0] != coalesce.ErrLoadTimeout {
			t.Errorf("timeout: after fn returned, Finished reported %v, want ErrLoadTimeout once", got)
		}

		// A call detached by Forget is reported when it finishes.
		release := make(chan struct{})
		done := make(chan error)
		go func() {
			_, _, err := g.Do(context.Background(), "detached", func(context.Context) (int, error) { <-release; return 0, boom })
			done <- err
		}()
		synctest.Wait()
		if !g.Forget("detached", nil) {
			t.Fatal("Forget found no call")
		}
		close(release)
		if err := <-done; err != boom {
			t.Fatalf("detached call: %v, want boom", err)
		}
		if got := log.of("detached"); len(got) != 1 || got[0] != boom {
			t.Errorf("detached: Finished reported %v, want boom once", got)
		}

		// A batch: each key once, with its own outcome; a failed batch
		// fails them all; a rechecked key is not reported.
		res := g.DoBatch(context.Background(), []string{"b1", "b2", "rechecked", "b1"}, func(_ context.Context, keys []string) ([]coalesce.Result[int], error) {
			return []coalesce.Result[int]{{Val: 1}, {Err: boom}}, nil
		})
		for i, k := range []string{"b1", "b2"} {
			if got := log.of(k); len(got) != 1 || !sameError(got[0], res[i].Err) {
				t.Errorf("batch key %s: Finished reported %v, the caller got %v", k, got, res[i].Err)
			}
		}
		g.DoBatch(context.Background(), []string{"f1", "f2"}, func(context.Context, []string) ([]coalesce.Result[int], error) {
			return nil, boom
		})
		for _, k := range []string{"f1", "f2"} {
			if got := log.of(k); len(got) != 1 || got[0] != boom {
				t.Errorf("failed batch key %s: Finished reported %v, want boom once", k, got)
			}
		}
		if got := log.of("rechecked"); len(got) != 0 {
			t.Errorf("Finished reported %v for keys Recheck answered", got)
		}
	})
}

// sameError: the same error, or two *PanicErrors of the same value.
func sameError(a, b error) bool {
	var pa, pb *coalesce.PanicError
	if errors.As(a, &pa) && errors.As(b, &pb) {
		return pa == pb
	}
	return a == b
}

// A call whose fn returns right as its LoadTimeout fires finishes either
// way, and Finished reports the way its caller saw: a count kept by
// Finished (the RTCache's LoadErrors) matches the callers' errors exactly.
// A third of the fns return at once, a third when their ctx ends (past
// the deadline: ErrLoadTimeout), a third after sleeping the LoadTimeout
// (either way), so that both ways are taken.
func TestFinishedAgreesWithTheCallerAtTheLoadTimeout(t *testing.T) {
	var log finishedLog
	const timeout = 5 * time.Millisecond
	g := newGroup(t, coalesce.Options[string, int]{LoadTimeout: timeout, Finished: log.finished})
	const n = 400
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			_, _, errs[i] = g.Do(context.Background(), fmt.Sprint(i), func(ctx context.Context) (int, error) {
				switch i % 3 {
				case 1:
					<-ctx.Done()
				case 2:
					time.Sleep(timeout) // returns about at the deadline, racing the timer
				}
				return 1, nil
			})
		})
	}
	wg.Wait()
	timeouts := 0
	for i, err := range errs {
		if err != nil {
			timeouts++
		}
		if i%3 == 1 && err != coalesce.ErrLoadTimeout {
			t.Errorf("call %d returned when its ctx ended, past the deadline: the caller got %v, want ErrLoadTimeout", i, err)
		}
		got := log.of(fmt.Sprint(i))
		if len(got) != 1 || got[0] != err {
			t.Errorf("call %d: the caller got %v, Finished reported %v", i, err, got)
		}
	}
	if timeouts == n {
		t.Error("every call timed out: none returned its value")
	}
	t.Logf("%d of %d calls timed out", timeouts, n)
}
