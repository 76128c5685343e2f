package ufocache_test

import (
	"testing"

	"github.com/ufocache/ufocache"
)

// SetMaxWeight's doc: "A smaller bound rebuilds an index with more than
// twice the room it needs at once ..., which returns that memory". A
// weighted cache presized by InitialCapacity keeps, after a shrink to 100
// (at most 100 entries, each weighing at least 1), and after Clear, the
// index New made for 40,000, a hint New would now refuse (above
// MaxWeight). A unit cache's shrinks (index.bound lowers its minSlot; a
// weighted one's keeps New's).
func TestAdvSetMaxWeightShrinksAPresizedWeightedIndex(t *testing.T) {
	for _, weighted := range []bool{false, true} {
		opts := ufocache.Options[int, int]{MaxWeight: 40_000, Shards: 1, InitialCapacity: 40_000}
		if weighted {
			opts.Weigher = func(int, int) uint32 { return 1 }
		}
		c := ufocache.Must(opts)
		for k := range 40_000 {
			c.Set(k, k)
		}
		if err := c.SetMaxWeight(100); err != nil {
			t.Fatal(err)
		}
		opts.MaxWeight, opts.InitialCapacity = 100, 100
		want := ufocache.IndexSlotsOf(ufocache.Must(opts), 0)
		if got := ufocache.IndexSlotsOf(c, 0); got > 2*want {
			t.Errorf("weighted %v: after SetMaxWeight(100), %d index slots for at most 100 entries (a cache made at 100 has %d)", weighted, got, want)
		}
		c.Clear()
		if got := ufocache.IndexSlotsOf(c, 0); got > 2*want {
			t.Errorf("weighted %v: Clear after SetMaxWeight(100): %d index slots (a cache made at 100 has %d)", weighted, got, want)
		}
	}
}
