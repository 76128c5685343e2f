package ufocache_test

import (
	"runtime"
	"testing"
	"weak"

	"github.com/ufocache/ufocache"
)

// TestValuesEvictedByAHeavyValueAreCollectable: the Guarantees promise
// that no value the cache no longer holds stays reachable from it. The
// lists of victims a shard reuses from Set to Set are cleared after each
// eviction, and one that grew past fifo.ScratchKept is not kept; but the
// list kept from before, which the long eviction filled before it
// outgrew it, held its first victims (up to ScratchKept entries, their
// keys and values) until later evictions wrote over them, or a Clear.
// (fifo's TestLongVictimListLeavesNoVictimReachable checks a duel's list.)
func TestValuesEvictedByAHeavyValueAreCollectable(t *testing.T) {
	type blob = *[256]byte
	weights := map[blob]uint32{}
	c := ufocache.Must(ufocache.Options[int, blob]{MaxWeight: 5000, Shards: 1,
		Weigher: func(_ int, v blob) uint32 { return max(weights[v], 1) }})
	var made []weak.Pointer[[256]byte]
	set := func(k int, w uint32) {
		v := new([256]byte)
		weights[v] = w
		made = append(made, weak.Make(v))
		c.Set(k, v)
	}
	k := 0
	for range 6000 {
		set(k, 1)
		k++
	}
	set(k, 900) // a long eviction, whose list is kept
	k++
	for range 6000 {
		set(k, 1)
		k++
	}
	set(k, 5000)   // evicts every other entry: longer than ScratchKept
	clear(weights) // the Weigher is done with them
	if alive, want := reachable(made), c.Len(); alive != want {
		t.Errorf("%d of %d values written are reachable; the cache holds %d", alive, len(made), want)
	}
	runtime.KeepAlive(c)
}
