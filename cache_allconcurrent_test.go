package ufocache_test

import (
	"sync"
	"sync/atomic"
	"testing"

	"github.com/ufocache/ufocache"
)

// TestAllDuringConcurrentWritesSeesStableKeysOnce: All's doc promises
// that a key present throughout the iteration, its value replaced by Set
// or not, is seen once (only a key deleted and set again may be seen
// twice), and every value yielded is one written for its key. Writers
// churn other keys meanwhile, so that the shards' indexes double and are
// rebuilt (new tables swapped in) while All reads them.
func TestAllDuringConcurrentWritesSeesStableKeysOnce(t *testing.T) {
	const (
		stable = 2000  // keys 0..stable-1: set before, never deleted
		churn  = 20000 // keys stable..stable+churn-1: set and deleted
	)
	// Values carry their key in the high 32 bits, a sequence number below.
	val := func(k, seq int) uint64 { return uint64(k)<<32 | uint64(uint32(seq)) }
	c := ufocache.Must(ufocache.Options[int, uint64]{MaxWeight: 1 << 20, Shards: 2})
	for k := range stable {
		c.Set(k, val(k, 0))
	}
	var stop atomic.Bool
	var wg sync.WaitGroup
	for g := range 2 {
		wg.Go(func() {
			for i := 0; !stop.Load(); i++ {
				k := stable + (i*7919+g*104729)%churn
				if i%3 == 2 {
					c.Delete(k)
				} else {
					c.Set(k, val(k, i))
				}
				// Replace a stable key's value in place.
				s := (i*31 + g) % stable
				c.Set(s, val(s, i))
			}
		})
	}
	for round := 0; round < 200 && !t.Failed(); round++ {
		seen := make(map[int]int, stable)
		for k, v := range c.All() {
			if int(v>>32) != k {
				t.Errorf("All yielded %d with key %d's value", k, v>>32)
			}
			if k < stable {
				seen[k]++
			}
		}
		for k := range stable {
			if seen[k] != 1 {
				t.Errorf("round %d: stable key %d seen %d times, want once", round, k, seen[k])
				break
			}
		}
	}
	stop.Store(true)
	wg.Wait()
	if err := ufocache.CheckInvariantsOf(c); err != nil {
		t.Fatal(err)
	}
}

// TestAllDuringConcurrentClearAndResize: while Clear, SetMaxWeight,
// Deletes and expiring Sets run (an injected clock, moved by a writer),
// All yields only values written for their keys, and the accounting and
// the bound hold afterwards.
func TestAllDuringConcurrentClearAndResize(t *testing.T) {
	clk := &fakeClock{}
	clk.t.Store(1)
	const keys = 4096
	c := ufocache.Must(ufocache.Options[int, uint64]{MaxWeight: 2048, Shards: 4, Clock: clk})
	var stop atomic.Bool
	var wg sync.WaitGroup
	for g := range 2 {
		wg.Go(func() {
			for i := 0; !stop.Load(); i++ {
				k := (i*7919 + g*104729) % keys
				switch i % 64 {
				case 0:
					c.Clear()
				case 1:
					_ = c.SetMaxWeight(int64(512 + 512*(i/64%4)))
				case 2, 3, 4:
					c.Delete(k)
				default:
					// Odd keys expire a millisecond after they are set.
					if k%2 == 1 {
						c.SetWithTTL(k, uint64(k)<<32|uint64(uint32(i)), 1000000)
					} else {
						c.Set(k, uint64(k)<<32|uint64(uint32(i)))
					}
				}
				if g == 0 && i%16 == 0 {
					clk.t.Add(250000)
				}
			}
		})
	}
	for round := 0; round < 300 && !t.Failed(); round++ {
		for k, v := range c.All() {
			if int(v>>32) != k {
				t.Errorf("All yielded %d with key %d's value", k, v>>32)
			}
		}
	}
	stop.Store(true)
	wg.Wait()
	if err := ufocache.CheckInvariantsOf(c); err != nil {
		t.Fatal(err)
	}
	if c.Weight() > c.MaxWeight() {
		t.Fatalf("Weight %d above MaxWeight %d", c.Weight(), c.MaxWeight())
	}
}
