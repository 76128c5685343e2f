package ufocache_test

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/ufocache/ufocache"
)

// OnEvict is documented to run outside any lock; a resize from inside it
// (a callback that lowers the bound when memory is tight) must not hang.
func TestAdvSetMaxWeightFromOnEvict(t *testing.T) {
	var c *ufocache.Cache[int, int]
	var armed atomic.Bool
	c = ufocache.Must(ufocache.Options[int, int]{MaxWeight: 1000, Shards: 2, OnEvict: func(_, _ int, r ufocache.EvictReason) {
		if r == ufocache.EvictCapacity && armed.CompareAndSwap(true, false) {
			c.SetMaxWeight(100)
		}
	}})
	for k := range 1000 {
		c.Set(k, k)
	}
	armed.Store(true)
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.SetMaxWeight(500)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("SetMaxWeight called from OnEvict during a SetMaxWeight: deadlock")
	}
}
