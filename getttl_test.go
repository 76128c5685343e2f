package ufocache_test

import (
	"context"
	"testing"
	"time"

	"github.com/ufocache/ufocache"
)

// GetWithTTL reports the time a value has left under every TTL
// convention, to the nanosecond on an injected clock, and finds nothing
// from the nanosecond the value expires.
func TestGetWithTTL(t *testing.T) {
	clk := &fakeClock{}
	clk.t.Store(1000)
	c := ufocache.Must(ufocache.Options[string, int]{MaxWeight: 100, Clock: clk, DefaultTTL: time.Minute, RecordStats: true})
	c.Set("default", 1)                              // DefaultTTL
	c.SetWithTTL("zero", 2, 0)                       // 0: DefaultTTL too
	c.SetWithTTL("ten", 3, 10*time.Second)           // its own
	c.SetWithTTL("never", 4, ufocache.NoExpiration)  // none
	c.ForceSet("forced", 5, 3*time.Second)           // ForceSet's
	c.SetWithTTL("huge", 6, ufocache.NoExpiration-1) // an expiry that saturates
	if c.SetWithTTL("negative", 7, -time.Second) {   // nothing stored
		t.Fatal("a negative TTL was stored")
	}
	want := map[string]struct {
		v   int
		ttl time.Duration
	}{
		"default": {1, time.Minute},
		"zero":    {2, time.Minute},
		"ten":     {3, 10 * time.Second},
		"never":   {4, ufocache.NoExpiration},
		"forced":  {5, 3 * time.Second},
	}
	check := func(elapsed time.Duration) {
		t.Helper()
		for k, w := range want {
			v, ttl, ok := c.GetWithTTL(k)
			left := w.ttl - elapsed
			if w.ttl == ufocache.NoExpiration {
				left = ufocache.NoExpiration
			}
			if left <= 0 {
				if ok || v != 0 || ttl != 0 {
					t.Errorf("%v in: GetWithTTL(%q) = %d, %v, %v; want 0, 0, false (expired)", elapsed, k, v, ttl, ok)
				}
				continue
			}
			if !ok || v != w.v || ttl != left {
				t.Errorf("%v in: GetWithTTL(%q) = %d, %v, %v; want %d, %v, true", elapsed, k, v, ttl, ok, w.v, left)
			}
		}
		if v, ttl, ok := c.GetWithTTL("negative"); ok || v != 0 || ttl != 0 {
			t.Errorf("GetWithTTL of a key never stored = %d, %v, %v", v, ttl, ok)
		}
		if _, ttl, ok := c.GetWithTTL("huge"); !ok || ttl <= 0 || ttl >= ufocache.NoExpiration {
			t.Errorf("GetWithTTL of a saturated expiry = %v, %v; want a positive time below NoExpiration", ttl, ok)
		}
	}
	check(0)
	clk.Advance(2*time.Second + time.Second - 1) // a nanosecond before "forced" expires
	check(3*time.Second - 1)
	if _, ttl, _ := c.GetWithTTL("forced"); ttl != 1 {
		t.Fatalf("a nanosecond before its expiry: %v left, want 1ns", ttl)
	}
	clk.Advance(1) // its expiry
	check(3 * time.Second)
	clk.Advance(7 * time.Second) // "ten"'s
	check(10 * time.Second)
	clk.Advance(time.Hour)
	check(time.Hour + 10*time.Second)
	// Each call above counted once: 7 calls per check (5 keys, the absent
	// key, "huge"), plus one; hits are the live keys found.
	st := c.Stats()
	if st.Hits+st.Misses != 5*7+1 {
		t.Fatalf("stats: %d hits + %d misses, want %d calls", st.Hits, st.Misses, 5*7+1)
	}
	// Live at each check: 6, 6 (and "forced" once more), 5, 4, 2
	// ("never", "huge").
	if want := 6 + 6 + 1 + 5 + 4 + 2; st.Hits != uint64(want) {
		t.Fatalf("stats: %d hits, want %d", st.Hits, want)
	}
}

// A value an RTCache loaded has the TTL its Loader gave it (0: the
// cache's default), as GetWithTTL reports.
func TestGetWithTTLOfALoadedValue(t *testing.T) {
	clk := &fakeClock{}
	clk.t.Store(1)
	c := ufocache.Must(ufocache.Options[int, int]{MaxWeight: 100, Clock: clk, DefaultTTL: time.Hour})
	rt, err := ufocache.NewRTCache(c, func(_ context.Context, k int) (int, time.Duration, error) {
		return k * 10, time.Duration(k) * time.Second, nil
	}, ufocache.RTOptions[int, int]{})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []int{0, 5} {
		if v, st, err := rt.Get(context.Background(), k); err != nil || st != ufocache.Miss || v != k*10 {
			t.Fatalf("rt.Get(%d) = %d, %v, %v", k, v, st, err)
		}
	}
	clk.Advance(2 * time.Second)
	if _, ttl, ok := c.GetWithTTL(0); !ok || ttl != time.Hour-2*time.Second {
		t.Errorf("a value loaded with TTL 0: %v left, %v; want the default's %v", ttl, ok, time.Hour-2*time.Second)
	}
	if _, ttl, ok := c.GetWithTTL(5); !ok || ttl != 3*time.Second {
		t.Errorf("a value loaded with TTL 5s, 2s ago: %v left, %v; want 3s", ttl, ok)
	}
}

// Without an injected clock, the time left is never reported shorter than
// it is: the coarse clock only lags the exact one, by which the expiry
// was set.
func TestGetWithTTLOnTheCoarseClock(t *testing.T) {
	c := ufocache.Must(ufocache.Options[int, int]{MaxWeight: 100})
	const ttl = time.Hour
	for i := range 100 {
		set := time.Now()
		c.SetWithTTL(i, i, ttl)
		_, left, ok := c.GetWithTTL(i)
		if !ok {
			t.Fatalf("GetWithTTL(%d) found nothing", i)
		}
		if least := ttl - time.Since(set); left < least {
			t.Fatalf("GetWithTTL(%d) reported %v left, under the %v at least left", i, left, least)
		}
	}
}

// Peek reads a value as Get does but counts as no read: the entry's
// frequency stays, and RecordStats counts nothing; it allocates nothing.
func TestPeekCountsAsNoRead(t *testing.T) {
	c := ufocache.Must(ufocache.Options[string, int]{MaxWeight: 100, RecordStats: true})
	c.Set("k", 1)
	for range 5 {
		if v, ok := c.Peek("k"); !ok || v != 1 {
			t.Fatalf("Peek = %d, %v; want 1, true", v, ok)
		}
	}
	if _, ok := c.Peek("absent"); ok {
		t.Fatal("Peek of an absent key found it")
	}
	if f := c.FreqOf("k"); f != 0 {
		t.Errorf("after five Peeks the entry's frequency is %d, want 0", f)
	}
	if st := c.Stats(); st.Hits != 0 || st.Misses != 0 {
		t.Errorf("Peeks counted %d hits and %d misses, want none", st.Hits, st.Misses)
	}
	if n := testing.AllocsPerRun(100, func() { c.Peek("k") }); n != 0 {
		t.Errorf("Peek allocates %v times", n)
	}
	c.Get("k")
	if f := c.FreqOf("k"); f != 1 {
		t.Errorf("a Get after the Peeks left frequency %d, want 1", f)
	}
}
