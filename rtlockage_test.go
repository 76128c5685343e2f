package ufocache_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ufocache/ufocache"
)

// script is an origin whose n-th load (from 1) waits for gate(n) and then
// returns what its result says: "k#n", or err(n) if set.
type script struct {
	mu    sync.Mutex
	gates map[int32]chan struct{}
	errs  map[int32]error
	ttls  map[int32]time.Duration
	n     atomic.Int32
}

func newScript() *script {
	return &script{gates: map[int32]chan struct{}{}, errs: map[int32]error{}, ttls: map[int32]time.Duration{}}
}

func (s *script) gate(n int32) chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.gates[n]
	if !ok {
		g = make(chan struct{})
		s.gates[n] = g
	}
	return g
}

func (s *script) open(n int32) { close(s.gate(n)); synctest.Wait() }

func (s *script) fail(n int32, err error) {
	s.mu.Lock()
	s.errs[n] = err
	s.mu.Unlock()
}

func (s *script) load(ctx context.Context, k string) (string, time.Duration, error) {
	n := s.n.Add(1)
	g := s.gate(n)
	select {
	case <-g:
	case <-ctx.Done():
		return "", 0, ctx.Err()
	}
	s.mu.Lock()
	err, ttl := s.errs[n], s.ttls[n]
	s.mu.Unlock()
	if err != nil {
		return "", 0, err
	}
	return k + "#" + string(rune('0'+n)), ttl, nil
}

func (s *script) batch(ctx context.Context, keys []string) ([]ufocache.Loaded[string], error) {
	n := s.n.Add(1)
	select {
	case <-s.gate(n):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	out := make([]ufocache.Loaded[string], len(keys))
	for i, k := range keys {
		out[i].Value = k + "#" + string(rune('0'+n))
	}
	return out, nil
}

func newScriptRT(t *testing.T, s *script, opts ufocache.RTOptions[string, string]) *ufocache.RTCache[string, string] {
	t.Helper()
	return newRTLoading(t, s.load, opts, ufocache.Options[string, string]{MaxWeight: 100, Clock: newBubbleClock(), KeepExpired: time.Hour})
}

// bg runs a Get of k in the background and returns where its answer goes.
func bg(rt *ufocache.RTCache[string, string], k string) chan answer {
	ch := make(chan answer, 1)
	go func() {
		var a answer
		a.v, a.st, a.err = rt.Get(context.Background(), k)
		ch <- a
	}()
	synctest.Wait()
	return ch
}

func peek(rt *ufocache.RTCache[string, string], k string) string {
	v, _ := rt.Cache().Peek(k)
	return v
}

// Each RTCache write, made while a superseded load and the load that took
// its key over both run, wins over both: neither is stored after it.
func TestRTWritesEndALine(t *testing.T) {
	writes := map[string]func(rt *ufocache.RTCache[string, string]){
		"Set":        func(rt *ufocache.RTCache[string, string]) { rt.Set("k", "w", 0) },
		"Delete":     func(rt *ufocache.RTCache[string, string]) { rt.Delete("k") },
		"Invalidate": func(rt *ufocache.RTCache[string, string]) { rt.Invalidate("k") },
		"Clear":      func(rt *ufocache.RTCache[string, string]) { rt.Clear() },
	}
	for name, write := range writes {
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s := newScript()
				rt := newScriptRT(t, s, ufocache.RTOptions[string, string]{LockAge: time.Second})
				rt.Set("k", "w0", time.Millisecond) // expires, stays for stale reads
				time.Sleep(time.Millisecond)
				a1 := bg(rt, "k")
				time.Sleep(time.Second)
				a2 := bg(rt, "k")
				time.Sleep(time.Second)
				a3 := bg(rt, "k") // the line: 1, 2, 3 (3 holds)
				write(rt)
				want := peek(rt, "k")
				s.open(2)
				s.open(1)
				if got := peek(rt, "k"); got != want {
					t.Fatalf("after the write and two superseded loads: %q, want %q", got, want)
				}
				a4 := bg(rt, "k") // after the write: a new load, 4
				s.open(1 + 2)     // the detached holder
				if got := peek(rt, "k"); got != want {
					t.Fatalf("after the detached holder: %q, want %q", got, want)
				}
				s.open(4)
				for i, a := range []answer{<-a1, <-a2, <-a3, <-a4} {
					if a.err != nil {
						t.Errorf("caller %d: %v", i+1, a.err)
					}
				}
				if v, st, _ := rt.Get(context.Background(), "k"); (name == "Set" && (v != "w" || st != ufocache.Hit)) || (name != "Set" && v != "k#4") {
					t.Errorf("after all: (%q, %v)", v, st)
				}
			})
		})
	}
}

// A superseded load's error is not kept, and the younger load's value is
// stored; a superseded success followed by the holder's failure keeps the
// success's value live and the error beside it.
func TestRTSupersededWithKeptErrors(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		boom := errors.New("boom")
		s := newScript()
		rt := newScriptRT(t, s, ufocache.RTOptions[string, string]{LockAge: time.Second, ErrorTTL: time.Hour})
		s.fail(1, boom)
		a1 := bg(rt, "k")
		time.Sleep(time.Second)
		a2 := bg(rt, "k")
		s.open(1)
		if a := <-a1; a.err != boom {
			t.Fatalf("first: %+v", a)
		}
		// The error of the superseded load is not kept: a caller joins 2.
		a3 := bg(rt, "k")
		s.open(2)
		if a := <-a2; a.v != "k#2" || a.err != nil {
			t.Fatalf("second: %+v", a)
		}
		if a := <-a3; a.v != "k#2" || a.st != ufocache.LockHit {
			t.Fatalf("third: %+v", a)
		}
		st := rt.Stats()
		if st.Loads != 2 || st.LoadErrors != 1 || rt.InFlight() != 0 {
			t.Errorf("stats %+v InFlight %d", st, rt.InFlight())
		}

		// Now: 3 succeeds superseded, 4 (holding) fails.
		rt.Delete("k")
		s.fail(4, boom)
		b3 := bg(rt, "k")
		time.Sleep(time.Second)
		b4 := bg(rt, "k")
		s.open(3)
		if a := <-b3; a.v != "k#3" {
			t.Fatalf("third load: %+v", a)
		}
		if got := peek(rt, "k"); got != "k#3" {
			t.Fatalf("stored %q, want k#3", got)
		}
		s.open(4)
		if a := <-b4; a.err != boom {
			t.Fatalf("fourth load: %+v", a)
		}
		if v, st, err := rt.Get(context.Background(), "k"); v != "k#3" || st != ufocache.Hit || err != nil {
			t.Errorf("after: (%q, %v, %v), want the live k#3", v, st, err)
		}
	})
}

// A MultiGet's BatchLoader call, superseded for one key by a Get, stores
// that key while the Get's load runs; the Get's then stores over it. A
// batch finishing after the younger load stored does not overwrite it.
func TestRTBatchSupersededKeyByKey(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newScript()
		c, _ := ufocache.New(ufocache.Options[string, string]{MaxWeight: 100, Clock: newBubbleClock()})
		rt, err := ufocache.NewRTCache(c, s.load, ufocache.RTOptions[string, string]{LockAge: time.Second, BatchLoader: s.batch})
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan []ufocache.RTResult[string], 1)
		go func() {
			res, _ := rt.MultiGet(context.Background(), []string{"a", "b"})
			done <- res
		}()
		synctest.Wait()
		time.Sleep(time.Second)
		ga := bg(rt, "a") // load 2, supersedes the batch for a
		gb := bg(rt, "b") // load 3, for b
		s.open(3)         // b's Get stores first
		if got := peek(rt, "b"); got != "b#3" {
			t.Fatalf("b = %q", got)
		}
		s.open(1) // the batch: a stored (2 still runs), b not (3 stored)
		if got := peek(rt, "a"); got != "a#1" {
			t.Errorf("a after the batch = %q, want a#1", got)
		}
		if got := peek(rt, "b"); got != "b#3" {
			t.Errorf("b after the batch = %q, want b#3", got)
		}
		s.open(2)
		if got := peek(rt, "a"); got != "a#2" {
			t.Errorf("a after its Get = %q, want a#2", got)
		}
		<-ga
		<-gb
		res := <-done
		if res[0].Value != "a#1" || res[1].Value != "b#1" {
			t.Errorf("MultiGet = %+v", res)
		}
		if st := rt.Stats(); st.Loads != 4 || st.LoadErrors != 0 || rt.InFlight() != 0 {
			t.Errorf("stats %+v, InFlight %d", st, rt.InFlight())
		}
	})
}

// A superseded load past its LoadTimeout is not stored (its Loader's late
// value neither), and counts as a failed load.
func TestRTSupersededLoadTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newScript()
		rt := newScriptRT(t, s, ufocache.RTOptions[string, string]{LockAge: time.Second, LoadTimeout: 1500 * time.Millisecond})
		a1 := bg(rt, "k")
		time.Sleep(time.Second)
		a2 := bg(rt, "k")
		time.Sleep(500 * time.Millisecond) // 1 times out
		if a := <-a1; a.err != ufocache.ErrLoadTimeout {
			t.Fatalf("first: %+v", a)
		}
		if got := peek(rt, "k"); got != "" {
			t.Fatalf("stored %q", got)
		}
		s.open(2)
		if a := <-a2; a.v != "k#2" {
			t.Fatalf("second: %+v", a)
		}
		if st := rt.Stats(); st.Loads != 2 || st.LoadErrors != 1 {
			t.Errorf("stats %+v", st)
		}
	})
}

// A superseded load's value is stored only while the load that took its
// key over still runs: once that one finished, whatever its outcome (here
// an error, kept nowhere), the key is free and the older value is not
// stored, although no newer load stored anything (the docs of LockHit,
// GetWithTTL and the README said "a newer load ... stored first").
func TestRTSupersededValueDroppedOnceTheNewerLoadFinished(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newScript()
		rt := newScriptRT(t, s, ufocache.RTOptions[string, string]{LockAge: time.Second})
		a1 := bg(rt, "k")
		time.Sleep(time.Second)
		a2 := bg(rt, "k")
		a3 := bg(rt, "k") // joins 2
		s.fail(2, errors.New("boom"))
		s.open(2)
		if a := <-a2; a.err == nil {
			t.Fatalf("second: %+v", a)
		}
		<-a3
		s.open(1)
		if a := <-a1; a.v != "k#1" || a.err != nil {
			t.Fatalf("first: %+v", a)
		}
		if v, ok := rt.Cache().Peek("k"); ok {
			t.Errorf("stored %q: the newer load had finished, the key was free", v)
		}
	})
}
