package ufocache_test

import (
	"testing"

	"github.com/ufocache/ufocache"
)

// Clear after a shrink restores the new sizes: a cache presized by
// InitialCapacity and shrunk keeps, through a Clear, an index sized for
// its new bound, not New's hint. (Mutant: bound not lowering minSlot.)
func TestAdvClearAfterAShrinkKeepsTheSmallIndex(t *testing.T) {
	c := ufocache.Must(ufocache.Options[int, int]{MaxWeight: 40_000, Shards: 1, InitialCapacity: 40_000})
	for k := range 40_000 {
		c.Set(k, k)
	}
	if err := c.SetMaxWeight(100); err != nil {
		t.Fatal(err)
	}
	fresh := ufocache.Must(ufocache.Options[int, int]{MaxWeight: 100, Shards: 1, InitialCapacity: 100})
	want := ufocache.IndexSlotsOf(fresh, 0)
	if got := ufocache.IndexSlotsOf(c, 0); got > 2*want {
		t.Errorf("after SetMaxWeight(100): %d index slots, a cache made at 100 has %d", got, want)
	}
	c.Clear()
	if got := ufocache.IndexSlotsOf(c, 0); got > 2*want {
		t.Errorf("Clear after SetMaxWeight(100): %d index slots, a cache made at 100 has %d", got, want)
	}
}
