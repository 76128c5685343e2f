package ufocache_test

import (
	"sync"
	"testing"
	"time"

	"github.com/ufocache/ufocache"
)

// A Set that read the old limit before it took the shard's lock, and got
// the lock only after a SetMaxWeight lowered the limit, is declined: the
// limit is checked again under the lock. (Mutant: store without that
// check kept a value heavier than its shard, Weight 60 above a bound of
// 50.)
func TestAdvSetDeclinesAValueThatWaitedOutAResize(t *testing.T) {
	for round := range 10 {
		c := ufocache.Must(ufocache.Options[string, int]{MaxWeight: 100, Shards: 1, Weigher: func(_ string, v int) uint32 { return uint32(v) }})
		c.Set("a", 10)
		unlock := c.LockShard(0)
		var wg sync.WaitGroup
		wg.Go(func() { c.SetMaxWeight(50) }) // waits for the shard's lock first
		time.Sleep(20 * time.Millisecond)
		wg.Go(func() { c.Set("h", 60) }) // reads the limit of 100, then waits
		time.Sleep(20 * time.Millisecond)
		unlock()
		wg.Wait()
		if _, ok := c.Peek("h"); ok || c.Weight() > 50 {
			t.Fatalf("round %d: a value of 60 kept under a bound of 50 (Weight %d)", round, c.Weight())
		}
		if err := ufocache.CheckInvariantsOf(c); err != nil {
			t.Fatal(err)
		}
	}
}
