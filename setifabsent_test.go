package ufocache_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/ufocache/ufocache"
)

// Of many goroutines that SetIfAbsent one key at once, one stores and
// every one gets its value; a Get then a Set would let each believe it
// stored (the migration review counted 6 of 8).
func TestSetIfAbsentOneWinner(t *testing.T) {
	for round := range 50 {
		c := ufocache.Must(ufocache.Options[string, int]{MaxWeight: 100})
		const n = 8
		got := make([]int, n)
		stored := make([]bool, n)
		var start, wg sync.WaitGroup
		start.Add(1)
		for i := range n {
			wg.Go(func() {
				start.Wait()
				got[i], stored[i] = c.SetIfAbsent("k", i+1, 0)
			})
		}
		start.Done()
		wg.Wait()
		winners := 0
		for i := range n {
			if stored[i] {
				winners++
				if got[i] != i+1 {
					t.Fatalf("round %d: goroutine %d stored and got %d, want its own %d", round, i, got[i], i+1)
				}
			}
		}
		v, _ := c.Get("k")
		if winners != 1 {
			t.Fatalf("round %d: %d goroutines stored, want 1", round, winners)
		}
		for i := range n {
			if got[i] != v {
				t.Fatalf("round %d: goroutine %d got %d, the cache holds %d", round, i, got[i], v)
			}
		}
	}
}

// An expired value counts as absent and is replaced (OnEvict hears it as
// Replaced); a declined value leaves nothing and returns V's zero value.
func TestSetIfAbsentOverExpiredAndDeclined(t *testing.T) {
	clk := &fakeClock{}
	clk.t.Store(1)
	var reports []string
	c := ufocache.Must(ufocache.Options[string, string]{
		MaxWeight: 10, Shards: 1, Clock: clk,
		Weigher: func(_, v string) uint32 { return uint32(len(v)) },
		OnEvict: func(k, v string, r ufocache.EvictReason) { reports = append(reports, fmt.Sprint(k, "=", v, " ", r)) },
	})
	if v, ok := c.SetIfAbsent("k", "old", time.Second); v != "old" || !ok {
		t.Fatalf("SetIfAbsent of an absent key = %q, %v", v, ok)
	}
	if v, ok := c.SetIfAbsent("k", "new", time.Second); v != "old" || ok {
		t.Fatalf("SetIfAbsent over a live value = %q, %v; want it returned", v, ok)
	}
	clk.Advance(time.Second)
	if v, ok := c.SetIfAbsent("k", "new", 0); v != "new" || !ok {
		t.Fatalf("SetIfAbsent over an expired value = %q, %v; want it replaced", v, ok)
	}
	if v, ok := c.SetIfAbsent("heavy", "eleven long", 0); v != "" || ok {
		t.Fatalf("SetIfAbsent of a value above MaxWeight = %q, %v; want declined", v, ok)
	}
	if v, ok := c.SetIfAbsent("k", "x", -1); v != "new" || ok {
		t.Fatalf("SetIfAbsent with a negative TTL over a live value = %q, %v; want it returned", v, ok)
	}
	if v, ok := c.Get("k"); v != "new" || !ok {
		t.Fatalf("Get after = %q, %v", v, ok)
	}
	if n := testing.AllocsPerRun(100, func() { c.SetIfAbsent("k", "y", 0) }); n != 0 {
		t.Errorf("SetIfAbsent over a live value allocates %v times", n)
	}
	want := []string{"k=old replaced", "heavy=eleven long rejected"}
	if fmt.Sprint(reports) != fmt.Sprint(want) {
		t.Errorf("OnEvict heard %q, want %q", reports, want)
	}
}

// The first writer of a session stores it; a later one gets the first
// one's value back, and stores nothing.
func ExampleCache_SetIfAbsent() {
	c := ufocache.Must(ufocache.Options[string, string]{MaxWeight: 1000})
	v, stored := c.SetIfAbsent("session:42", "alice", time.Minute)
	fmt.Println(v, stored)
	v, stored = c.SetIfAbsent("session:42", "bob", time.Minute)
	fmt.Println(v, stored)
	// Output:
	// alice true
	// alice false
}

// Without an Options.Clock, SetIfAbsent judges the value it finds on the
// exact clock, as Get does near an expiry, while the coarse one lags
// (held here): a value past its TTL by the exact clock is replaced,
// whether the new one has a TTL or not (on the held clock it was live,
// and returned). Not parallel: the clock is the process's.
func TestSetIfAbsentJudgesOnTheExactClock(t *testing.T) {
	const ttl = time.Millisecond
	for _, newTTL := range []time.Duration{0, time.Hour} {
		c := ufocache.Must(ufocache.Options[int, int]{MaxWeight: 10})
		release := holdCoarseClock(t)
		setPastItsTTL(c, 1, 1, ttl) // past its TTL by the exact clock; the held one reads before it
		v, stored := c.SetIfAbsent(1, 2, newTTL)
		release()
		if v != 2 || !stored {
			t.Errorf("new TTL %v: SetIfAbsent over a value past its TTL = %d, %v; want it replaced", newTTL, v, stored)
		}
	}
}
