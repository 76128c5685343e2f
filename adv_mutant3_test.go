package ufocache_test

import (
	"testing"

	"github.com/ufocache/ufocache"
)

// An index four times larger than its new bound needs is rebuilt at once
// (more than twice the room it needs). (Mutant: the threshold at 8x.)
func TestAdvSetMaxWeightShrinksAQuarterFullIndex(t *testing.T) {
	for _, weighted := range []bool{false, true} {
		opts := ufocache.Options[int, int]{MaxWeight: 16_000, Shards: 1}
		if weighted {
			opts.Weigher = func(int, int) uint32 { return 1 }
		}
		c := ufocache.Must(opts)
		for k := range 16_000 {
			c.Set(k, k)
		}
		opts.MaxWeight = 4000
		fresh := ufocache.Must(opts)
		for k := range 4000 {
			fresh.Set(k, k)
		}
		if err := c.SetMaxWeight(4000); err != nil {
			t.Fatal(err)
		}
		if got, want := ufocache.IndexSlotsOf(c, 0), ufocache.IndexSlotsOf(fresh, 0); got > 2*want {
			t.Errorf("weighted %v: 16,000 -> 4000: %d index slots, a cache filled at 4000 has %d", weighted, got, want)
		}
	}
}
