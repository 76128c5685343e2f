package ufocache_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ufocache/ufocache"
)

// incr is a Compute function that adds one to a counter, starting it at 1.
func incr(old int, _ bool) (int, time.Duration, ufocache.ComputeOp) {
	return old + 1, 0, ufocache.ComputeStore
}

// Goroutines incrementing counters with Compute lose no increment: each
// function sees what the one before it stored (run it with -race).
func TestComputeCountsEveryIncrement(t *testing.T) {
	c := ufocache.Must(ufocache.Options[int, int]{MaxWeight: 1000})
	const goroutines, each, keys = 8, 2000, 3
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range each {
				c.Compute((g+i)%keys, incr)
			}
		})
	}
	wg.Wait()
	total := 0
	for k := range keys {
		v, ok := c.Get(k)
		if !ok {
			t.Fatalf("counter %d missing", k)
		}
		total += v
	}
	if total != goroutines*each {
		t.Errorf("counters sum to %d, want %d increments", total, goroutines*each)
	}
}

// A live value the function keeps records a read of it for the eviction
// policy, as a Get would; one it replaces, or none, does not count as read.
func TestComputeKeepRecordsARead(t *testing.T) {
	c := ufocache.Must(ufocache.Options[int, int]{MaxWeight: 100, Shards: 1})
	c.Set(1, 1)
	if f := c.FreqOf(1); f != 0 {
		t.Fatalf("frequency %d after the Set, want 0", f)
	}
	keep := func(old int, found bool) (int, time.Duration, ufocache.ComputeOp) {
		return 0, 0, ufocache.ComputeKeep
	}
	if v, ok := c.Compute(1, keep); v != 1 || !ok {
		t.Fatalf("Compute keeping = %d, %v; want 1, true", v, ok)
	}
	if f := c.FreqOf(1); f != 1 {
		t.Errorf("frequency %d after a Compute that kept the value, want 1", f)
	}
	if v, ok := c.Compute(2, keep); v != 0 || ok {
		t.Errorf("Compute keeping an absent key = %d, %v; want 0, false", v, ok)
	}
	if _, ok := c.Get(2); ok {
		t.Error("Compute keeping an absent key stored one")
	}
}

// A panic in the function, or an unknown ComputeOp, reaches the caller
// and leaves the cache as it was, its shard's lock released.
func TestComputePanicLeavesTheCacheAsItWas(t *testing.T) {
	var heard []string
	c := ufocache.Must(ufocache.Options[string, string]{MaxWeight: 10, Shards: 1,
		OnEvict: func(k, v string, r ufocache.EvictReason) { heard = append(heard, k+"="+v) }})
	c.Set("k", "v")
	for name, f := range map[string]func(string, bool) (string, time.Duration, ufocache.ComputeOp){
		"panic": func(string, bool) (string, time.Duration, ufocache.ComputeOp) { panic("in f") },
		"op 4":  func(string, bool) (string, time.Duration, ufocache.ComputeOp) { return "w", 0, 4 },
	} {
		func() {
			defer func() {
				r := recover()
				if s := fmt.Sprint(r); r == nil || name == "op 4" && !strings.Contains(s, "unknown ComputeOp 4") {
					t.Errorf("%s: Compute panicked with %v", name, r)
				}
			}()
			c.Compute("k", f)
		}()
		if v, ok := c.Get("k"); v != "v" || !ok || c.Len() != 1 {
			t.Errorf("%s: after the panic, Get = %q, %v and Len %d; want v, true, 1", name, v, ok, c.Len())
		}
	}
	// The lock was released: a write of the same shard goes on.
	if v, ok := c.Compute("k", func(old string, _ bool) (string, time.Duration, ufocache.ComputeOp) {
		return old + "2", 0, ufocache.ComputeStore
	}); v != "v2" || !ok {
		t.Errorf("Compute after the panics = %q, %v", v, ok)
	}
	if len(heard) != 1 || heard[0] != "k=v" {
		t.Errorf("OnEvict heard %q, want only the replaced k=v", heard)
	}
}

// What Compute returns and what OnEvict hears, op by op: a store over an
// expired value replaces it; a store with a negative TTL or of a value too
// heavy removes the old one (EvictReplaced) and reports itself rejected;
// a removal of an expired value reports it deleted.
func TestComputeOps(t *testing.T) {
	clk := &fakeClock{}
	clk.t.Store(1)
	var heard []string
	c := ufocache.Must(ufocache.Options[string, string]{MaxWeight: 10, Shards: 1, Clock: clk,
		Weigher: func(_, v string) uint32 { return uint32(len(v)) },
		OnEvict: func(k, v string, r ufocache.EvictReason) { heard = append(heard, fmt.Sprint(k, "=", v, " ", r)) }})
	store := func(v string, ttl time.Duration) func(string, bool) (string, time.Duration, ufocache.ComputeOp) {
		return func(string, bool) (string, time.Duration, ufocache.ComputeOp) { return v, ttl, ufocache.ComputeStore }
	}
	remove := func(string, bool) (string, time.Duration, ufocache.ComputeOp) { return "", 0, ufocache.ComputeRemove }
	seen := func(want string, wantFound bool) func(string, bool) (string, time.Duration, ufocache.ComputeOp) {
		return func(old string, found bool) (string, time.Duration, ufocache.ComputeOp) {
			if old != want || found != wantFound {
				t.Errorf("the function got %q, %v; want %q, %v", old, found, want, wantFound)
			}
			return "", 0, ufocache.ComputeKeep
		}
	}
	steps := []struct {
		name    string
		k       string
		f       func(string, bool) (string, time.Duration, ufocache.ComputeOp)
		v       string
		ok      bool
		advance time.Duration
	}{
		{"store", "k", store("a", time.Second), "a", true, 0},
		{"keep live", "k", seen("a", true), "a", true, time.Second},
		{"keep expired", "k", seen("", false), "", false, 0},
		{"store over expired", "k", store("b", time.Second), "b", true, time.Second},
		{"remove expired", "k", remove, "", false, 0},
		{"store again", "k", store("c", 0), "c", true, 0},
		{"negative ttl", "k", store("d", -1), "", false, 0},
		{"store again", "k", store("e", 0), "e", true, 0},
		{"too heavy", "k", store("eleven long", 0), "", false, 0},
		{"remove absent", "k", remove, "", false, 0},
	}
	for _, s := range steps {
		if v, ok := c.Compute(s.k, s.f); v != s.v || ok != s.ok {
			t.Errorf("%s: Compute = %q, %v; want %q, %v", s.name, v, ok, s.v, s.ok)
		}
		clk.Advance(s.advance)
	}
	want := []string{"k=a replaced", "k=b deleted", "k=c replaced", "k=d rejected", "k=e replaced", "k=eleven long rejected"}
	if fmt.Sprint(heard) != fmt.Sprint(want) {
		t.Errorf("OnEvict heard %q, want %q", heard, want)
	}
	if st := c.Stats(); st.Sets != 4 || st.Rejections != 2 || st.Len != 0 {
		t.Errorf("stats %+v, want 4 Sets, 2 Rejections, nothing held", st)
	}
}

// A token bucket per client: Compute takes a token if there is one, and
// each use keeps an active client's bucket for a minute more, where a
// bucket of an idle client expires.
func ExampleCache_Compute() {
	type bucket struct {
		tokens float64
		at     time.Time
	}
	const rate, burst = 1.0, 3.0 // tokens a second, and at most
	c := ufocache.Must(ufocache.Options[string, bucket]{MaxWeight: 100_000})
	allow := func(client string, now time.Time) bool {
		ok := false
		c.Compute(client, func(b bucket, found bool) (bucket, time.Duration, ufocache.ComputeOp) {
			if !found {
				b = bucket{tokens: burst, at: now}
			}
			b.tokens = min(burst, b.tokens+now.Sub(b.at).Seconds()*rate)
			b.at = now
			if ok = b.tokens >= 1; ok {
				b.tokens--
			}
			return b, time.Minute, ufocache.ComputeStore
		})
		return ok
	}
	start := time.Now()
	for i := range 5 {
		fmt.Print(allow("alice", start), " ")
		if i == 3 {
			start = start.Add(time.Second) // a second later: one token more
		}
	}
	fmt.Println()
	// Output: true true true false true
}

// Compute allocates what Set does: the new entry of a stored value, and
// nothing to keep one (its function does not escape).
func TestComputeAllocatesAsSetDoes(t *testing.T) {
	c := ufocache.Must(ufocache.Options[int, int]{MaxWeight: 1000})
	c.Set(1, 1)
	keep := func(old int, _ bool) (int, time.Duration, ufocache.ComputeOp) { return old, 0, ufocache.ComputeKeep }
	if n := testing.AllocsPerRun(100, func() { c.Compute(1, incr) }); n != 1 {
		t.Errorf("Compute storing allocates %v times, want 1 (the entry)", n)
	}
	if n := testing.AllocsPerRun(100, func() { c.Compute(1, keep) }); n != 0 {
		t.Errorf("Compute keeping allocates %v times, want 0", n)
	}
}
