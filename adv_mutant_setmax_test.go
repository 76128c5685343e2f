package ufocache_test

import (
	"testing"

	"github.com/ufocache/ufocache"
)

// After SetMaxWeight(101) over 2 shards, a value of 51 is declined
// whichever shard its key lands in, though the first shard holds 51
// units: the limit is w/Shards, as New's is. (Mutant: each shard's limit
// its own capacity survived every test.)
func TestAdvSetMaxWeightLimitIsTheShareForEveryShard(t *testing.T) {
	c := ufocache.Must(ufocache.Options[int, int]{MaxWeight: 1000, Shards: 2, Weigher: func(_, v int) uint32 { return uint32(v) }})
	if err := c.SetMaxWeight(101); err != nil {
		t.Fatal(err)
	}
	for k := range 64 {
		if c.Set(k, 51) {
			t.Fatalf("key %d (shard %d): a value of 51 stored under SetMaxWeight(101) over 2 shards", k, c.ShardOf(k))
		}
	}
}
