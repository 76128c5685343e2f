package main

import (
	"slices"

	"github.com/ufocache/ufocache/perf/peers"
)

// replayResult is one cache replaying one trace at one capacity.
type replayResult struct {
	requests, hits int
	// Byte hit ratio inputs (weighted replays only).
	bytesRequested, bytesHit uint64
	// Occupancy (Len) sampled once the cache had been offered as many
	// misses as its capacity; samples == 0 if it never was, or Len is
	// unknown.
	// Weighted replays sample the weight held instead.
	samples         int
	sumOcc, highOcc int64
	// runs is how many replays were pooled (see merge); lo and hi are the
	// lowest and highest hit ratio among them.
	runs   int
	lo, hi float64
}

// merge pools another replay of the same cell into r: the hit ratio becomes
// the mean over the replays (they have the same length), the occupancy
// the mean over all samples with the highest seen.
func (r *replayResult) merge(o replayResult) {
	ratio := o.ratio()
	if o.weighted() {
		ratio = o.byteRatio()
	}
	if r.runs == 0 {
		r.lo, r.hi = ratio, ratio
	}
	r.runs++
	r.lo, r.hi = min(r.lo, ratio), max(r.hi, ratio)
	r.requests += o.requests
	r.hits += o.hits
	r.bytesRequested += o.bytesRequested
	r.bytesHit += o.bytesHit
	r.samples += o.samples
	r.sumOcc += o.sumOcc
	r.highOcc = max(r.highOcc, o.highOcc)
}

func (r replayResult) weighted() bool { return r.bytesRequested > 0 }

// spread is the range of the pooled replays' hit ratios (byte hit ratios
// for a weighted cell), as a fraction.
func (r replayResult) spread() float64 { return r.hi - r.lo }

func (r replayResult) ratio() float64 {
	if r.requests == 0 {
		return 0
	}
	return float64(r.hits) / float64(r.requests)
}

func (r replayResult) byteRatio() float64 {
	if r.bytesRequested == 0 {
		return 0
	}
	return float64(r.bytesHit) / float64(r.bytesRequested)
}

// aboveOptimum reports a hit ratio above Belady's optimum for the same
// bound, which only a cache that held more entries than its bound can reach.
// Compared exactly (r may pool several replays, opt is one).
func (r replayResult) aboveOptimum(opt replayResult) bool {
	return int64(r.hits)*int64(opt.requests) > int64(opt.hits)*int64(r.requests)
}

// flagged reports a result that is not comparable: over its bound, or
// above the optimum.
func (r replayResult) flagged(capacity int, opt replayResult) bool {
	return r.overBound(capacity) || r.aboveOptimum(opt)
}

func (r replayResult) meanOcc() float64 {
	if r.samples == 0 {
		return -1
	}
	return float64(r.sumOcc) / float64(r.samples)
}

// overBound reports a cache that held on average more than 10% above its
// bound once full (in entries, or in weight for a weighted replay); its
// hit ratio is flattered by the extra room.
func (r replayResult) overBound(capacity int) bool {
	return r.samples > 0 && r.meanOcc() > 1.1*float64(capacity)
}

// sampleEvery is how often (in requests) occupancy is sampled.
const sampleEvery = 16

// replay runs keys through c single-threaded: Get, and on a miss Set. A
// cache that applies Sets asynchronously is waited for after each Set
// (peers.ReplayWaited), so that the next request sees the write. hit, if
// not nil, is called with the index of each request that hits.
func replay(c peers.Cache[uint64, uint64], keys []uint64, capacity int, hit func(i int)) replayResult {
	waiter := replayWaiter(c)
	res := replayResult{requests: len(keys)}
	misses := 0
	for i, k := range keys {
		if _, ok := c.Get(k); ok {
			res.hits++
			if hit != nil {
				hit(i)
			}
		} else {
			misses++
			c.Set(k, k)
			if waiter != nil {
				waiter.Wait()
			}
		}
		if misses >= capacity && i%sampleEvery == 0 {
			res.sample(int64(c.Len()))
		}
	}
	return res
}

// weightSampleEvery is how often (in requests) a weighted replay samples
// the weight held: some caches walk their entries to sum it.
const weightSampleEvery = 256

// replayWeighted is replay with each entry weighing its object's size; the
// value stored is the size, which the cache's weigher returns. Once the
// misses have offered capacity's worth of weight, it samples the weight
// held, if the cache can say (peers.WeightHolder).
func replayWeighted(c peers.Cache[uint64, uint32], keys []uint64, sizes []uint32, capacity int) replayResult {
	waiter := replayWaiter(c)
	holder, _ := c.(peers.WeightHolder)
	res := replayResult{requests: len(keys)}
	var offered int64
	for i, k := range keys {
		sz := max(sizes[i], 1)
		res.bytesRequested += uint64(sz)
		if _, ok := c.Get(k); ok {
			res.hits++
			res.bytesHit += uint64(sz)
		} else {
			offered += int64(sz)
			c.Set(k, sz)
			if waiter != nil {
				waiter.Wait()
			}
		}
		if holder != nil && offered >= int64(capacity) && i%weightSampleEvery == 0 {
			res.sample(holder.HeldWeight())
		}
	}
	return res
}

func (r *replayResult) sample(n int64) {
	if n < 0 {
		return
	}
	r.samples++
	r.sumOcc += n
	r.highOcc = max(r.highOcc, n)
}

// replayWaiter returns c's Wait if a replay waits for c after each Set
// (peers.ReplayWaited), else nil.
func replayWaiter[V any](c peers.Cache[uint64, V]) peers.Waiter {
	if w, ok := c.(peers.Waiter); ok && slices.Contains(peers.ReplayWaited, c.Name()) {
		return w
	}
	return nil
}
