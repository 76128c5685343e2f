package ufocache

import (
	"errors"
	"fmt"
)

// CheckInvariants runs every shard's accounting check.
func (c *Cache[K, V]) CheckInvariants() error {
	var errs []error
	for i := range c.shards {
		if err := c.shards[i].Check(); err != nil {
			errs = append(errs, fmt.Errorf("shard %d: %w", i, err))
		}
	}
	return errors.Join(errs...)
}

// ShardOf returns the index of k's shard.
func (c *Cache[K, V]) ShardOf(k K) int {
	if len(c.shards) == 1 {
		return 0
	}
	return int(c.hash.Sum(k) >> c.shift)
}

// LockShard takes shard i's write lock and returns its unlock.
func (c *Cache[K, V]) LockShard(i int) (unlock func()) { return c.shards[i].LockForTest() }

// AutoShards exposes the shard-count rule.
var AutoShards = autoShards

// ShardCountOf and CheckInvariantsOf are for the external test package.
func ShardCountOf[K comparable, V any](c *Cache[K, V]) int        { return c.Shards() }
func CheckInvariantsOf[K comparable, V any](c *Cache[K, V]) error { return c.CheckInvariants() }

// LockShardFor takes the write lock of k's shard.
func (c *Cache[K, V]) LockShardFor(k K) (unlock func()) { return c.LockShard(c.ShardOf(k)) }

// WithRawHasher returns o with its Hasher's hashes used as they are, not
// spread: for tests that aim a Hasher at the bits that pick the shard, the
// index group and the tag.
func WithRawHasher[K comparable, V any](o Options[K, V]) Options[K, V] {
	o.rawHasher = true
	return o
}

// FreqOf returns the read frequency of k's entry (0 if k has none): for
// tests that a read path touches what it reads.
func (c *Cache[K, V]) FreqOf(k K) uint32 {
	h := c.hash.Sum(k)
	if e := c.shardFor(h).Find(k, h); e != nil {
		return e.Freq()
	}
	return 0
}

// SketchLeastPerShard is the switch a test turns off to size the least
// sketch over all the shards together, as before.
var SketchLeastPerShard = &sketchLeastPerShard

// GroupsReadOf returns how many index groups a Get of k reads to reach its
// entry (0: absent).
func GroupsReadOf[K comparable, V any](c *Cache[K, V], k K) int {
	h := c.hash.Sum(k)
	return c.shardFor(h).GroupsRead(k, h)
}

// IndexSlotsOf returns the slots of shard i's index table.
func IndexSlotsOf[K comparable, V any](c *Cache[K, V], i int) int { return c.shards[i].IndexSlots() }

// SketchKeysOf returns the keys shard i's sketch has room for.
func SketchKeysOf[K comparable, V any](c *Cache[K, V], i int) int { return c.shards[i].SketchKeys() }

// HoldsSharedClock reports whether c keeps the process's coarse clock
// running (its ticker goroutine).
func HoldsSharedClock[K comparable, V any](c *Cache[K, V]) bool { return c.clockRef != nil }
