package ufocache_test

import (
	"testing"
	"time"

	"github.com/ufocache/ufocache"
)

// TestSetIfAbsentCountsAFoundValueAsAReadOnly: a SetIfAbsent that finds
// a live value records a read of it for the eviction policy (its
// frequency rises, as a Get's would) but not in Stats (no hit, no miss,
// no set); one that finds an expired value replaces it and counts a set.
// And a Set of a key already present counts as one read of the key
// (Set's doc): the new entry starts one above the old one's frequency.
func TestSetIfAbsentCountsAFoundValueAsAReadOnly(t *testing.T) {
	clk := &fakeClock{}
	clk.t.Store(1)
	c := ufocache.Must(ufocache.Options[int, int]{MaxWeight: 10, RecordStats: true, Clock: clk})
	c.SetWithTTL(1, 1, time.Second)
	if f := c.FreqOf(1); f != 0 {
		t.Fatalf("a new entry has frequency %d, want 0", f)
	}
	before := c.Stats()
	if got, stored := c.SetIfAbsent(1, 2, time.Hour); got != 1 || stored {
		t.Fatalf("SetIfAbsent over a live value = %d, %v; want 1, false", got, stored)
	}
	if f := c.FreqOf(1); f != 1 {
		t.Errorf("SetIfAbsent that found the value left its frequency at %d, want 1 (a read)", f)
	}
	if st := c.Stats(); st != before {
		t.Errorf("SetIfAbsent that found the value moved Stats from %+v to %+v", before, st)
	}

	clk.Advance(time.Second) // 1 expires
	if got, stored := c.SetIfAbsent(1, 3, 0); got != 3 || !stored {
		t.Fatalf("SetIfAbsent over an expired value = %d, %v; want 3, true", got, stored)
	}
	if st := c.Stats(); st.Sets != before.Sets+1 || st.Hits != before.Hits || st.Misses != before.Misses {
		t.Errorf("SetIfAbsent over an expired value: Stats %+v, before %+v; want one more set only", st, before)
	}
	if v, ok := c.Peek(1); !ok || v != 3 {
		t.Fatalf("Peek after SetIfAbsent over an expired value = %d, %v; want 3", v, ok)
	}

	c.Set(2, 1)
	c.Set(2, 2)
	if f := c.FreqOf(2); f != 1 {
		t.Errorf("a Set over a present key left frequency %d, want 1 (the write counts as a read)", f)
	}
}
