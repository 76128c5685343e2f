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

// FuzzGroup runs random callers of Do, DoBatch, Go, GoBatch and Forget on three
// keys, at random moments, with functions that return, fail, panic, call
// Goexit, take their time or hang, under random LockAge, LockTimeout and
// LoadTimeout, and a Recheck that answers for keys committed recently.
// Whatever happens, once every caller is through and every hung function
// released:
//   - no caller is left waiting (synctest reports a deadlock otherwise);
//   - no key is held (Len is 0);
//   - Finished ran exactly once for each function started, and never for
//     a call Recheck answered;
//   - Commit ran at most once per function started, and every caller got
//     an outcome its function could give or one of the Group's errors;
//   - a key's values were committed in the order their functions started
//     (each returns 100 plus its place among the key's functions): a call
//     that LockAge superseded is committed only before any younger one.
//     A younger call is created at least LockAge after the older one's
//     function started, or after the older one left the key.
func FuzzGroup(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17}, uint8(0))
	f.Add([]byte{3, 3, 3, 3, 9, 9, 9, 27, 1, 2, 81, 4, 4, 4}, uint8(7))
	f.Add([]byte("coalesce a stampede of callers"), uint8(42))
	// Close among the calls, with a ctx that ends (0xc3: 3ms) and one that
	// does not (0xc0: ended at once), then more calls.
	f.Add([]byte{0, 4, 5, 0x25, 6, 0xc3, 8, 0, 3, 9, 7, 2, 6, 0xc0, 16, 1, 5, 0, 7, 5, 0, 0}, uint8(9))
	f.Add([]byte{5, 0x29, 13, 4, 6, 0xc2, 0, 0, 3, 0x80, 7, 7, 6, 0xc4, 21, 0}, uint8(0x80|10))
	f.Fuzz(func(t *testing.T, ops []byte, cfg uint8) {
		if len(ops) > 96 {
			ops = ops[:96]
		}
		synctest.Test(t, func(t *testing.T) { fuzzGroup(t, ops, cfg) })
	})
}

var errFn = errors.New("fn failed")

func fuzzGroup(t *testing.T, ops []byte, cfg uint8) {
	keys := []string{"a", "b", "c"}
	ms := time.Millisecond
	var mu sync.Mutex
	started, finished, commits := map[string]int{}, map[string]int{}, map[string]int{}
	lastCommitted := map[string]int{}
	var outOfOrder []string
	committedAt := map[string]time.Time{}
	// Close: closing is set before the first Close is called, closed once
	// a Close has returned nil; running counts the functions in flight.
	var closing, closed bool
	var running int
	var afterClose []string
	opts := coalesce.Options[string, int]{
		LockAge:     []time.Duration{0, 5 * ms, 20 * ms}[cfg%3],
		LockTimeout: []time.Duration{0, 3 * ms, 30 * ms}[cfg/3%3],
		LoadTimeout: []time.Duration{0, 4 * ms, 40 * ms}[cfg/9%3],
		Commit: func(k string, v int, err error) func() {
			mu.Lock()
			defer mu.Unlock()
			commits[k]++
			if closed {
				afterClose = append(afterClose, fmt.Sprintf("key %s committed after Close returned nil", k))
			}
			if err == nil {
				committedAt[k] = time.Now()
				if v <= lastCommitted[k] {
					outOfOrder = append(outOfOrder, fmt.Sprintf("key %s: %d committed after %d", k, v, lastCommitted[k]))
				}
				lastCommitted[k] = v
			}
			return nil
		},
		Finished: func(k string, err error) {
			mu.Lock()
			defer mu.Unlock()
			finished[k]++
		},
	}
	if cfg&0x80 != 0 {
		opts.Recheck = func(k string) (int, bool, error) {
			mu.Lock()
			defer mu.Unlock()
			at, ok := committedAt[k]
			return 7, ok && time.Since(at) < 2*ms, nil
		}
	}
	g := newGroup(t, opts)
	hang := make(chan struct{})
	// behave counts a function started for keys and plays its behaviour,
	// from one byte: 0 returns, 1 fails, 2 panics, 3 calls Goexit, 4 takes
	// a while, 5 hangs until the end. It returns the value of each key:
	// 100 plus the function's place among the key's.
	behave := func(b byte, keys ...string) ([]int, error) {
		mu.Lock()
		vals := make([]int, len(keys))
		for i, k := range keys {
			started[k]++
			vals[i] = 100 + started[k]
		}
		if closed {
			afterClose = append(afterClose, fmt.Sprintf("a function of %v started after Close returned nil", keys))
		}
		running++
		mu.Unlock()
		defer func() {
			mu.Lock()
			running--
			mu.Unlock()
		}()
		switch b % 6 {
		case 1:
			return nil, errFn
		case 2:
			panic("fn panicked")
		case 3:
			runtime.Goexit()
		case 4:
			time.Sleep(time.Duration(b/6%8) * ms)
		case 5:
			<-hang
		}
		return vals, nil
	}
	fn := func(k string, b byte) func(context.Context) (int, error) {
		return func(context.Context) (int, error) {
			vals, err := behave(b, k)
			if err != nil {
				return 0, err
			}
			return vals[0], nil
		}
	}
	batchFn := func(b byte) func(context.Context, []string) ([]coalesce.Result[int], error) {
		return func(_ context.Context, ks []string) ([]coalesce.Result[int], error) {
			vals, err := behave(b, ks...)
			if err != nil {
				return nil, err
			}
			res := make([]coalesce.Result[int], len(ks))
			for i := range res {
				res[i].Val = vals[i]
			}
			if b%7 == 0 && len(res) > 0 {
				res[0] = coalesce.Result[int]{Err: errFn}
			}
			return res, nil
		}
	}
	allowed := func(err error) bool {
		var pe *coalesce.PanicError
		if err == coalesce.ErrClosed {
			mu.Lock()
			defer mu.Unlock()
			return closing
		}
		return err == nil || err == errFn || errors.As(err, &pe) || err == coalesce.ErrGoexit ||
			err == coalesce.ErrLoadTimeout || err == coalesce.ErrLockTimeout || errors.Is(err, context.Canceled) ||
			errors.Is(err, context.DeadlineExceeded)
	}
	var wg sync.WaitGroup
	var bad []string
	report := func(format string, args ...any) {
		mu.Lock()
		bad = append(bad, fmt.Sprintf(format, args...))
		mu.Unlock()
	}
	for i := 0; i+1 < len(ops); i += 2 {
		op, b := ops[i], ops[i+1]
		k := keys[int(op>>3)%len(keys)]
		ctx := context.Background()
		switch op % 8 {
		case 0, 1, 2: // Do, with a context that may end early
			wg.Go(func() {
				c := ctx
				if b&0x40 != 0 {
					var cancel context.CancelFunc
					c, cancel = context.WithTimeout(ctx, time.Duration(b%5+1)*ms)
					defer cancel()
				}
				defer func() {
					if r := recover(); r != nil {
						if _, ok := r.(*coalesce.PanicError); !ok {
							report("Do(%s) panicked with %v", k, r)
						}
					}
				}()
				if v, _, err := g.Do(c, k, fn(k, b)); !allowed(err) || err == nil && v <= 100 && v != 7 {
					report("Do(%s) = %d, %v", k, v, err)
				}
			})
		case 3, 4: // DoBatch (or GoBatch) of two or three keys, perhaps with a repeat
			ks := []string{k, keys[int(b)%len(keys)]}
			if b&1 != 0 {
				ks = append(ks, keys[int(b>>1)%len(keys)])
			}
			if op%8 == 4 && b&0x80 != 0 {
				g.GoBatch(ctx, ks, batchFn(b))
				break
			}
			wg.Go(func() {
				defer func() {
					if r := recover(); r != nil {
						if _, ok := r.(*coalesce.PanicError); !ok {
							report("DoBatch(%v) panicked with %v", ks, r)
						}
					}
				}()
				for i, r := range g.DoBatch(ctx, ks, batchFn(b)) {
					if !allowed(r.Err) || r.Err == nil && r.Val <= 100 && r.Val != 7 {
						report("DoBatch(%v)[%d] = %d, %v", ks, i, r.Val, r.Err)
					}
				}
			})
		case 5:
			g.Go(ctx, k, fn(k, b))
		case 6:
			if b&0xc0 != 0xc0 {
				g.Forget(k, nil)
				break
			}
			// Close, with a ctx that may end first (then it ends the
			// functions' contexts, which they ignore here).
			mu.Lock()
			closing = true
			mu.Unlock()
			wg.Go(func() {
				c, cancel := context.WithTimeout(ctx, time.Duration(b%8)*ms)
				defer cancel()
				if err := g.Close(c); err == nil {
					mu.Lock()
					closed = true
					if running != 0 {
						afterClose = append(afterClose, fmt.Sprintf("Close returned nil with %d functions running", running))
					}
					mu.Unlock()
				} else if err != context.DeadlineExceeded {
					report("Close: %v", err)
				}
			})
		case 7:
			time.Sleep(time.Duration(b%8) * ms)
		}
	}
	// Let the callers that can finish do so, then release the hung
	// functions and let time run past every bound.
	time.Sleep(100 * ms)
	close(hang)
	wg.Wait()
	time.Sleep(100 * ms)
	synctest.Wait()
	if closing {
		c, cancel := context.WithTimeout(context.Background(), 50*ms)
		defer cancel()
		if err := g.Close(c); err != nil {
			t.Errorf("Close once every call finished: %v", err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	for _, s := range bad {
		t.Error(s)
	}
	for _, s := range afterClose {
		t.Error(s)
	}
	for _, s := range outOfOrder {
		t.Error(s)
	}
	if n := g.Len(); n != 0 {
		t.Errorf("%d keys still held after every call finished", n)
	}
	for _, k := range keys {
		if started[k] != finished[k] {
			t.Errorf("key %s: %d functions started, Finished ran %d times", k, started[k], finished[k])
		}
		if commits[k] > started[k] {
			t.Errorf("key %s: %d commits for %d functions started", k, commits[k], started[k])
		}
	}
}
