package ufocache_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ufocache/ufocache"
)

// ledger accounts for the values an RTCache's Loader gives, as a cache of
// resources must (connections, pooled buffers): each value made is, at the
// end, either held by the cache or told to OnEvict, once.
type ledger struct {
	mu       sync.Mutex
	made     []string
	told     map[string]ufocache.EvictReason
	twice    []string
	n        atomic.Int32
	gate     chan struct{} // if not nil, each load waits for it
	delay    atomic.Int64  // each load sleeps this long first (a time.Duration)
	err      error         // returned with the value
	extraRes int           // a BatchLoader gives this many results more than keys
}

func (l *ledger) value(k string) string {
	v := fmt.Sprintf("%s#%d", k, l.n.Add(1))
	l.mu.Lock()
	l.made = append(l.made, v)
	l.mu.Unlock()
	return v
}

// forget drops the values made so far from the account.
func (l *ledger) forget() {
	l.mu.Lock()
	l.made = nil
	l.mu.Unlock()
}

func (l *ledger) wait() {
	if d := time.Duration(l.delay.Load()); d > 0 {
		time.Sleep(d)
	}
	if l.gate != nil {
		<-l.gate
	}
}

func (l *ledger) load(_ context.Context, k string) (string, time.Duration, error) {
	l.wait()
	return l.value(k), 0, l.err
}

func (l *ledger) loadBatch(_ context.Context, keys []string) ([]ufocache.Loaded[string], error) {
	l.wait()
	out := make([]ufocache.Loaded[string], len(keys)+l.extraRes)
	for i := range out {
		out[i].Value = l.value(keys[min(i, len(keys)-1)])
	}
	return out, nil
}

func (l *ledger) onEvict(_ string, v string, r ufocache.EvictReason) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.told[v]; ok {
		l.twice = append(l.twice, v)
	}
	l.told[v] = r
}

// unaccounted returns the values made that the cache neither holds nor
// told OnEvict of, and those it did both for, or told twice.
func (l *ledger) unaccounted(c *ufocache.Cache[string, string]) (lost, both []string) {
	held := map[string]bool{}
	for _, v := range c.All() {
		held[v] = true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, v := range l.made {
		_, told := l.told[v]
		switch {
		case !told && !held[v]:
			lost = append(lost, v)
		case told && held[v]:
			both = append(both, v)
		}
	}
	return lost, append(both, l.twice...)
}

// Every value a Loader or BatchLoader returned without an error is either
// stored or told to OnEvict as EvictRejected: a load detached by a write,
// one superseded after LockAge whose successor stored first, one that
// returned past LoadTimeout (a batch's too). A resource port lost 7-23% of
// the resources its Loader made on these paths, with no way to find them.
// A value returned with an error, and a batch of the wrong size (whose
// values match no keys), are not told.
func TestRTDroppedLoadsReachOnEvict(t *testing.T) {
	cases := []struct {
		name string
		opts ufocache.RTOptions[string, string]
		// run loads k on a goroutine while it does what drops the load's
		// value, and returns the values to be told as rejected.
		run func(t *testing.T, rt *ufocache.RTCache[string, string], l *ledger) []string
	}{
		{name: "Set", run: detachedBy(func(rt *ufocache.RTCache[string, string]) { rt.Set("k", "mine", 0) })},
		{name: "Delete", run: detachedBy(func(rt *ufocache.RTCache[string, string]) { rt.Delete("k") })},
		{name: "Invalidate", run: detachedBy(func(rt *ufocache.RTCache[string, string]) { rt.Invalidate("k") })},
		{name: "Clear", run: detachedBy(func(rt *ufocache.RTCache[string, string]) { rt.Clear() })},
		{name: "DeleteKeysFunc", run: detachedBy(func(rt *ufocache.RTCache[string, string]) {
			rt.DeleteKeysFunc(func(string) bool { return true })
		})},
		{name: "ComputeStore", run: detachedBy(func(rt *ufocache.RTCache[string, string]) {
			rt.Compute("k", func(string, bool) (string, time.Duration, ufocache.ComputeOp) {
				return "mine", 0, ufocache.ComputeStore
			})
		})},
		{name: "ComputeKeep", run: func(t *testing.T, rt *ufocache.RTCache[string, string], l *ledger) []string {
			// Keep leaves the load to store: nothing is dropped.
			detachedBy(func(rt *ufocache.RTCache[string, string]) {
				rt.Compute("k", func(string, bool) (string, time.Duration, ufocache.ComputeOp) { return "", 0, ufocache.ComputeKeep })
			})(t, rt, l)
			return nil
		}},
		{name: "Refresh", run: func(t *testing.T, rt *ufocache.RTCache[string, string], l *ledger) []string {
			rt.Set("k", "old", 0)
			l.gate = make(chan struct{})
			if !rt.Refresh(context.Background(), "k") {
				t.Fatal("Refresh started nothing")
			}
			synctest.Wait()
			rt.Set("k", "new", 0)
			close(l.gate)
			synctest.Wait()
			return []string{"k#1"}
		}},
		{name: "LockAge", opts: ufocache.RTOptions[string, string]{LockAge: time.Second}, run: func(t *testing.T, rt *ufocache.RTCache[string, string], l *ledger) []string {
			l.delay.Store(int64(5 * time.Second))
			go rt.Get(context.Background(), "k") // returns at 5 s
			time.Sleep(2 * time.Second)
			l.delay.Store(0)
			// Values are named in the order the loads return: this one
			// first.
			if v, _, err := rt.Get(context.Background(), "k"); v != "k#1" || err != nil {
				t.Fatalf("Get past LockAge: (%q, %v), want k#1 from a load of its own", v, err)
			}
			time.Sleep(4 * time.Second)
			synctest.Wait()
			return []string{"k#2"}
		}},
		{name: "LoadTimeout", opts: ufocache.RTOptions[string, string]{LoadTimeout: time.Second}, run: func(t *testing.T, rt *ufocache.RTCache[string, string], l *ledger) []string {
			l.delay.Store(int64(2 * time.Second))
			if _, _, err := rt.Get(context.Background(), "k"); !errors.Is(err, ufocache.ErrLoadTimeout) {
				t.Fatalf("Get: %v, want ErrLoadTimeout", err)
			}
			time.Sleep(2 * time.Second)
			synctest.Wait()
			return []string{"k#1"}
		}},
		{name: "LoadTimeoutExact", opts: ufocache.RTOptions[string, string]{LoadTimeout: time.Second}, run: func(t *testing.T, rt *ufocache.RTCache[string, string], l *ledger) []string {
			// Returned at its deadline: the load's timer and its return
			// race. Whichever wins, the value is stored or told.
			l.delay.Store(int64(time.Second))
			_, _, err := rt.Get(context.Background(), "k")
			synctest.Wait()
			switch {
			case err == nil:
				return nil
			case errors.Is(err, ufocache.ErrLoadTimeout):
				return []string{"k#1"}
			}
			t.Fatalf("Get: %v, want the value or ErrLoadTimeout", err)
			return nil
		}},
		{name: "DetachedError", run: func(t *testing.T, rt *ufocache.RTCache[string, string], l *ledger) []string {
			l.err = errors.New("origin down")
			detachedBy(func(rt *ufocache.RTCache[string, string]) { rt.Delete("k") })(t, rt, l)
			l.forget() // given to the callers with the error: the Loader's to account for
			return nil
		}},
		{name: "LoadTimeoutBatch", opts: ufocache.RTOptions[string, string]{LoadTimeout: time.Second}, run: func(t *testing.T, rt *ufocache.RTCache[string, string], l *ledger) []string {
			l.delay.Store(int64(2 * time.Second))
			if _, err := rt.MultiGet(context.Background(), []string{"a", "b"}); !errors.Is(err, ufocache.ErrLoadTimeout) {
				t.Fatalf("MultiGet: %v, want ErrLoadTimeout", err)
			}
			time.Sleep(2 * time.Second)
			synctest.Wait()
			return []string{"a#1", "b#2"}
		}},
		{name: "BatchDetached", run: func(t *testing.T, rt *ufocache.RTCache[string, string], l *ledger) []string {
			l.gate = make(chan struct{})
			go rt.MultiGet(context.Background(), []string{"a", "b"})
			synctest.Wait()
			rt.Delete("b")
			close(l.gate)
			synctest.Wait()
			if v, ok := rt.Cache().Get("a"); !ok || v != "a#1" {
				t.Errorf("a: (%q, %v), want a#1 stored", v, ok)
			}
			return []string{"b#2"}
		}},
		{name: "BatchWrongSize", run: func(t *testing.T, rt *ufocache.RTCache[string, string], l *ledger) []string {
			l.extraRes = 1
			if _, err := rt.MultiGet(context.Background(), []string{"a", "b"}); !errors.Is(err, ufocache.ErrBatchSize) {
				t.Fatalf("MultiGet: %v, want ErrBatchSize", err)
			}
			l.forget() // matching no keys, they are not told: the BatchLoader's to account for
			return nil
		}},
		{name: "ValueWithError", run: func(t *testing.T, rt *ufocache.RTCache[string, string], l *ledger) []string {
			l.err = errors.New("origin down")
			if v, _, err := rt.Get(context.Background(), "k"); v != "k#1" || err != l.err {
				t.Fatalf("Get: (%q, %v), want k#1 with the error", v, err)
			}
			l.forget() // given to the callers with the error: the Loader's to account for
			return nil
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				l := &ledger{told: map[string]ufocache.EvictReason{}}
				c := ufocache.Must(ufocache.Options[string, string]{MaxWeight: 100, Clock: newBubbleClock(), OnEvict: l.onEvict})
				opts := tc.opts
				opts.BatchLoader = l.loadBatch
				rt, err := ufocache.NewRTCache(c, l.load, opts)
				if err != nil {
					t.Fatal(err)
				}
				want := tc.run(t, rt, l)
				if err := rt.Close(context.Background()); err != nil {
					t.Fatal(err)
				}
				lost, both := l.unaccounted(c)
				if len(lost) > 0 || len(both) > 0 {
					t.Errorf("values neither held nor told to OnEvict: %v; held and told, or told twice: %v", lost, both)
				}
				var rejected []string
				for v, r := range l.told {
					if r == ufocache.EvictRejected {
						rejected = append(rejected, v)
					}
				}
				slices.Sort(rejected)
				if !slices.Equal(rejected, want) {
					t.Errorf("told as rejected: %v, want %v", rejected, want)
				}
				if d := rt.Stats().Dropped; d != uint64(len(want)) {
					t.Errorf("RTStats.Dropped %d, want %d", d, len(want))
				}
			})
		})
	}
}

// detachedBy returns a case that loads k while write detaches the load,
// which then returns k#1: the value is told as rejected.
func detachedBy(write func(rt *ufocache.RTCache[string, string])) func(t *testing.T, rt *ufocache.RTCache[string, string], l *ledger) []string {
	return func(t *testing.T, rt *ufocache.RTCache[string, string], l *ledger) []string {
		l.gate = make(chan struct{})
		got := make(chan string, 1)
		go func() {
			v, _, _ := rt.Get(context.Background(), "k")
			got <- v
		}()
		synctest.Wait()
		write(rt)
		close(l.gate)
		if v := <-got; v != "k#1" {
			t.Errorf("the detached load's caller got %q, want k#1", v)
		}
		synctest.Wait()
		return []string{"k#1"}
	}
}
