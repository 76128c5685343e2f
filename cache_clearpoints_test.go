package ufocache_test

import (
	"testing"

	"github.com/ufocache/ufocache"
)

// TestClearDeletesEachKeyAtItsOwnPoint: Clear is not one atomic step over
// the cache. It clears shard after shard (and tells OnEvict of each
// shard's entries before it takes the next), so, for another goroutine,
// a key of a shard it has done with may be set again and read back while
// a key of a shard it has yet to reach still reads its old value, and
// the new value outlives the Clear. That history has no single point for
// Clear (the old value read says it has not happened, the new one kept
// says it had), which is why the docs call each key's removal linearizable
// on its own, not the Clear (reliability's TestLinearizable models it so:
// a delete of every key, each at its own point within the call).
func TestClearDeletesEachKeyAtItsOwnPoint(t *testing.T) {
	type seen struct {
		oldB  int
		oldOK bool
	}
	var c *ufocache.Cache[int, int]
	var a, b int // a's shard is cleared first, then b's
	var during chan seen
	c = ufocache.Must(ufocache.Options[int, int]{MaxWeight: 64, Shards: 2,
		OnEvict: func(k, _ int, r ufocache.EvictReason) {
			if during == nil || k != a || r != ufocache.EvictDeleted {
				return
			}
			ch := during
			during = nil
			// Another client, while Clear is between the two shards.
			go func() {
				c.Set(a, 2)
				v, ok := c.Get(b)
				ch <- seen{v, ok}
			}()
			ch <- <-ch // wait for it, and keep its answer
		}})
	for k := 0; a == b || c.ShardOf(a) != 0 || c.ShardOf(b) != 1; k++ {
		if c.ShardOf(k) == 0 {
			a = k
		} else {
			b = k
		}
	}
	c.Set(a, 1)
	c.Set(b, 1)
	ch := make(chan seen, 1)
	during = ch
	c.Clear()
	got := <-ch
	if !got.oldOK || got.oldB != 1 {
		t.Fatalf("Get(b) while Clear was between the shards = %d, %v; want b's old value (its shard not reached yet)", got.oldB, got.oldOK)
	}
	if v, ok := c.Get(a); !ok || v != 2 {
		t.Fatalf("Get(a) after Clear = %d, %v; want the value set while Clear ran, after a's shard was cleared", v, ok)
	}
	if _, ok := c.Get(b); ok {
		t.Fatal("b outlived Clear")
	}
}
