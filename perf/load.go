package main

import (
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ufocache/ufocache/perf/peers"
	"github.com/ufocache/ufocache/perf/zipf"
)

// workload is a keyspace, a cache size and a precomputed operation stream
// that goroutines walk, so that no random number is drawn while timing.
type workload struct {
	keys, capacity int
	s              float64
}

// writeBit marks a write in an operation stream; the key is the other 63
// bits. Keys are zipf.Key values with this bit cleared, in the stream and
// the prefill alike; clearing it could merge two of n ranks only with odds
// about n²/2^64, nil for a million keys.
const writeBit = 1 << 63

// opStream returns n operations: keys drawn from the workload's Zipf
// distribution, a share (100 - readPct)% of them flagged as writes.
func (w workload) opStream(n, readPct int, seed uint64) []uint64 {
	base := zipf.Keys(zipf.New(w.keys, w.s), n, seed)
	rng := rand.New(rand.NewPCG(seed, 99))
	for i, k := range base {
		k &^= writeBit
		if rng.IntN(100) >= readPct {
			k |= writeBit
		}
		base[i] = k
	}
	return base
}

// prefill stores the hottest keys, up to the capacity, coldest first, and
// waits for a cache that applies writes asynchronously. Coldest first: a
// cache bounded per shard holds a little less than its capacity when its
// keys do not spread evenly over the shards, and its evictions then take
// the earliest keys. Hottest first, ufocache lost about 460 of the hottest
// keys, 29% of the latency suite's gets, and was timed at a hit ratio of
// about 50% where the others were at 82%.
func (w workload) prefill(c peers.Cache[uint64, uint64]) {
	n := min(w.keys, w.capacity)
	for i := range n {
		k := zipf.Key(n-1-i) &^ writeBit
		c.Set(k, k)
		waitEvery(c, i)
	}
	if wt, ok := c.(peers.Waiter); ok {
		wt.Wait()
	}
}

// waitEvery lets a cache that applies writes asynchronously catch up every
// 1024 Sets (the i-th is the last made): its buffer fills and drops writes
// otherwise (ristretto held 53% of a 65,536-key prefill, and 30% of a
// million Sets in the memory suite).
func waitEvery[K peers.Key, V any](c peers.Cache[K, V], i int) {
	if wt, ok := c.(peers.Waiter); ok && i%1024 == 1023 {
		wt.Wait()
	}
}

// paddedCount keeps each goroutine's counters on their own cache line.
type paddedCount struct {
	n, sets, unstored int64
	_                 [40]byte
}

// drive runs goroutines over ops against c for about d and returns the
// operations per second, and how many Sets it made and how many of those
// stored nothing (Set returned false, as ristretto's does when its buffer
// drops the write); those count as operations too. Goroutine g starts at
// offset g*len(ops)/goroutines and walks the stream circularly; each
// checks the stop flag after every 1024 operations, the first batch
// included, so every goroutine makes at least 1024 (on a busy machine one
// may start after d ended: TestDriveStartsEachGoroutineAtItsOffset waited
// for its first Get for ever when it checked before).
func drive(c peers.Cache[uint64, uint64], ops []uint64, goroutines int, d time.Duration) (opsPerSec float64, sets, unstored int64) {
	counts := make([]paddedCount, goroutines)
	var stop atomic.Bool
	var ready, done sync.WaitGroup
	start := make(chan struct{})
	for g := range goroutines {
		ready.Add(1)
		done.Go(func() {
			i := g * len(ops) / goroutines
			n, w, u := int64(0), int64(0), int64(0)
			ready.Done()
			<-start
			for {
				for range 1024 {
					k := ops[i]
					if k&writeBit != 0 {
						w++
						if !c.Set(k&^writeBit, k) {
							u++
						}
					} else {
						c.Get(k)
					}
					if i++; i == len(ops) {
						i = 0
					}
				}
				n += 1024
				if stop.Load() {
					break
				}
			}
			counts[g].n, counts[g].sets, counts[g].unstored = n, w, u
		})
	}
	ready.Wait()
	runtime.GC()
	t0 := time.Now()
	close(start)
	time.Sleep(d)
	stop.Store(true)
	done.Wait()
	elapsed := time.Since(t0)
	total := int64(0)
	for i := range counts {
		total += counts[i].n
		sets += counts[i].sets
		unstored += counts[i].unstored
	}
	return float64(total) / elapsed.Seconds(), sets, unstored
}
