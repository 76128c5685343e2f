package ufocache_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ufocache/ufocache"
)

// TestRTWritesAndLinesOrder runs random RTCache callers (Get,
// GetStaleWhileUpdate, MultiGet with a BatchLoader, Set, Delete,
// Invalidate, Clear, Peek) on two keys under a LockAge below the origin's
// time, and checks each value a read finds stored (a Hit, a Peek):
//   - a loaded value whose Loader was called before a write of its key
//     was called is not found by a read called after that write returned;
//   - a Set's value is not found by a read called after another write of
//     the key, called after the Set returned, returned;
//   - loaded values found by reads one after the other never go back to
//     one whose Loader was called earlier.
func TestRTWritesAndLinesOrder(t *testing.T) {
	for seed := range uint64(200) {
		synctest.Test(t, func(t *testing.T) { rtLineOrder(t, seed) })
		if t.Failed() {
			t.Fatalf("seed %d", seed)
		}
	}
}

type rtLineLog struct {
	mu      sync.Mutex
	n       int
	loadAt  map[int]int // load ordinal → event index of its Loader call
	setRet  map[int]int // write ordinal → event index of its return
	fence   map[string]int
	floorL  map[string]int
	errs    []string
	history []string
}

func (l *rtLineLog) tick(what string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.n++
	l.history = append(l.history, fmt.Sprintf("%d %s", l.n, what))
	return l.n
}

// write runs w (a write of keys) and records its call and return.
func (l *rtLineLog) write(name string, ord int, keys []string, w func()) {
	call := l.tick(fmt.Sprintf("%s %v W%d call", name, keys, ord))
	w()
	ret := l.tick(fmt.Sprintf("%s %v W%d ret", name, keys, ord))
	l.mu.Lock()
	defer l.mu.Unlock()
	if ord > 0 {
		l.setRet[ord] = ret
	}
	for _, k := range keys {
		l.fence[k] = max(l.fence[k], call)
	}
}

// read runs r, which returns a value found stored, and checks it.
func (l *rtLineLog) read(name, k string, r func() (string, bool)) {
	l.mu.Lock()
	fence, floor := l.fence[k], l.floorL[k]
	l.mu.Unlock()
	v, ok := r()
	l.tick(fmt.Sprintf("%s %s = %q %v", name, k, v, ok))
	if !ok {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	ord, _ := strconv.Atoi(v[1:])
	switch v[0] {
	case 'L':
		at := l.loadAt[ord]
		if at < fence {
			l.errs = append(l.errs, fmt.Sprintf("%s(%s) found %s, loaded at %d, before a write called at %d that returned before the read", name, k, v, at, fence))
		}
		if at < floor {
			l.errs = append(l.errs, fmt.Sprintf("%s(%s) found %s, loaded at %d, after a read found a value loaded at %d", name, k, v, at, floor))
		}
		l.floorL[k] = max(l.floorL[k], at)
	case 'W':
		if ret, ok := l.setRet[ord]; ok && ret < fence { // not ok: the Set has not returned
			l.errs = append(l.errs, fmt.Sprintf("%s(%s) found %s, which returned at %d, before a write called at %d", name, k, v, ret, fence))
		}
	}
}

func rtLineOrder(t *testing.T, seed uint64) {
	r := rand.New(rand.NewPCG(seed, 11))
	ms := time.Millisecond
	l := &rtLineLog{loadAt: map[int]int{}, setRet: map[int]int{}, fence: map[string]int{}, floorL: map[string]int{}}
	var ordMu sync.Mutex
	ord := 0
	next := func() int { ordMu.Lock(); defer ordMu.Unlock(); ord++; return ord }
	lr := rand.New(rand.NewPCG(seed, 12))
	var lrMu sync.Mutex
	draw := func(n int) int { lrMu.Lock(); defer lrMu.Unlock(); return lr.IntN(n) }
	boom := errors.New("boom")
	ttl := func() time.Duration {
		switch draw(6) {
		case 0:
			return -1
		case 1:
			return 0
		}
		return time.Duration(1+draw(40)) * ms
	}
	loadOne := func(ctx context.Context) (string, time.Duration, error) {
		o := next()
		at := l.tick(fmt.Sprintf("load L%d", o))
		l.mu.Lock()
		l.loadAt[o] = at
		l.mu.Unlock()
		time.Sleep(time.Duration(draw(30)) * ms)
		if draw(6) == 0 {
			return "", 0, ufocache.ErrorWithTTL(boom, time.Duration(draw(3)-1)*5*ms)
		}
		return "L" + strconv.Itoa(o), ttl(), nil
	}
	c, err := ufocache.New(ufocache.Options[string, string]{MaxWeight: 100, Clock: newBubbleClock(), DefaultTTL: 20 * ms, KeepExpired: 50 * ms})
	if err != nil {
		t.Fatal(err)
	}
	opts := ufocache.RTOptions[string, string]{
		LockAge:      []time.Duration{3 * ms, 8 * ms}[r.IntN(2)],
		LoadTimeout:  []time.Duration{0, 25 * ms}[r.IntN(2)],
		ErrorTTL:     []time.Duration{0, 4 * ms}[r.IntN(2)],
		RefreshAhead: []time.Duration{0, 10 * ms}[r.IntN(2)],
		BatchLoader: func(ctx context.Context, keys []string) ([]ufocache.Loaded[string], error) {
			out := make([]ufocache.Loaded[string], len(keys))
			for i := range keys {
				v, d, err := loadOne(ctx)
				out[i] = ufocache.Loaded[string]{Value: v, TTL: d, Err: err}
			}
			return out, nil
		},
	}
	rt, err := ufocache.NewRTCache(c, func(ctx context.Context, _ string) (string, time.Duration, error) { return loadOne(ctx) }, opts)
	if err != nil {
		t.Fatal(err)
	}
	keys := []string{"a", "b"}
	var wg sync.WaitGroup
	hit := func(name, k string, f func() (string, ufocache.Status, error)) {
		l.read(name, k, func() (string, bool) {
			v, st, err := f()
			return v, st == ufocache.Hit && err == nil
		})
	}
	for range 60 {
		k := keys[r.IntN(2)]
		switch op := r.IntN(20); {
		case op < 6:
			wg.Go(func() {
				hit("Get", k, func() (string, ufocache.Status, error) { return rt.Get(context.Background(), k) })
			})
		case op < 8:
			wg.Go(func() {
				hit("GetStaleWhileUpdate", k, func() (string, ufocache.Status, error) {
					v, st, err := rt.GetStaleWhileUpdate(context.Background(), k, 30*ms)
					return v, st.Status, err
				})
			})
		case op < 9:
			wg.Go(func() {
				var res []ufocache.RTResult[string]
				l.read("MultiGet", "a", func() (string, bool) {
					res, _ = rt.MultiGet(context.Background(), keys)
					return res[0].Value, res[0].Status == ufocache.Hit && res[0].Err == nil
				})
			})
		case op < 12:
			wg.Go(func() { l.read("Peek", k, func() (string, bool) { return rt.Cache().Peek(k) }) })
		case op < 14:
			o := next()
			d := ttl()
			wg.Go(func() { l.write("Set", o, []string{k}, func() { rt.Set(k, "W"+strconv.Itoa(o), d) }) })
		case op < 15:
			wg.Go(func() { l.write("Delete", 0, []string{k}, func() { rt.Delete(k) }) })
		case op < 16:
			wg.Go(func() { l.write("Invalidate", 0, []string{k}, func() { rt.Invalidate(k) }) })
		case op < 17:
			wg.Go(func() { l.write("Clear", 0, keys, rt.Clear) })
		default:
			time.Sleep(time.Duration(r.IntN(6)) * ms)
		}
	}
	wg.Wait()
	time.Sleep(time.Second)
	synctest.Wait()
	for _, k := range keys {
		l.read("Peek", k, func() (string, bool) { return rt.Cache().Peek(k) })
	}
	if len(l.errs) > 0 {
		t.Errorf("%v\n%s", l.errs, fmt.Sprint(l.history))
	}
	if n := rt.InFlight(); n != 0 {
		t.Errorf("InFlight %d at the end", n)
	}
	st := rt.Stats()
	if st.LoadErrors > st.Loads {
		t.Errorf("stats %+v", st)
	}
}
