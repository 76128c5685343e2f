package ufocache_test

import (
	"testing"

	"github.com/ufocache/ufocache"
)

// A unit cache's sketches, resized, are sized as New sizes them for the
// new bound, and Clear keeps that size. (Mutant: Resize leaving the
// sketch at its old size.)
func TestAdvSetMaxWeightSizesTheSketchAsNew(t *testing.T) {
	for _, tc := range []struct{ from, to int64 }{{40_000, 1000}, {1000, 40_000}, {64, 2}} {
		c := ufocache.Must(ufocache.Options[int, int]{MaxWeight: tc.from, Shards: 2})
		for k := range int(tc.from) {
			c.Set(k, k)
		}
		if err := c.SetMaxWeight(tc.to); err != nil {
			t.Fatal(err)
		}
		fresh := ufocache.Must(ufocache.Options[int, int]{MaxWeight: tc.to, Shards: 2})
		for i := range 2 {
			if got, want := ufocache.SketchKeysOf(c, i), ufocache.SketchKeysOf(fresh, i); got != want {
				t.Errorf("%d -> %d: shard %d's sketch has room for %d keys, a cache made at %d %d", tc.from, tc.to, i, got, tc.to, want)
			}
		}
		c.Clear()
		for i := range 2 {
			if got, want := ufocache.SketchKeysOf(c, i), ufocache.SketchKeysOf(fresh, i); got != want {
				t.Errorf("%d -> %d, then Clear: shard %d's sketch has room for %d keys, a cache made at %d %d", tc.from, tc.to, i, got, tc.to, want)
			}
		}
	}
}
