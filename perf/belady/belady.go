// Package belady computes the optimal hit ratio of a cache of fixed entry
// capacity on a known trace: Belady's MIN with bypass.
//
// On a miss the optimal cache with bypass stores the new key only if its
// next use comes sooner than the farthest next use among the residents, and
// then evicts that farthest resident; otherwise it does not store the key at
// all. No cache that sees the requests one at a time, and may decline an
// insert, can hit more often.
package belady

import "math"

// never is the next use of a key that does not occur again.
const never = math.MaxInt64

// Result of a replay.
type Result struct {
	Requests, Hits int
}

// Ratio returns hits / requests, or 0 for an empty trace.
func (r Result) Ratio() float64 {
	if r.Requests == 0 {
		return 0
	}
	return float64(r.Hits) / float64(r.Requests)
}

// Oracle holds a trace prepared for replays at several capacities: its keys
// renumbered densely and, for each request, the index of the next request
// for the same key. It is read-only and may be shared by goroutines.
type Oracle struct {
	ids      []int32 // dense id of each request's key
	nextUse  []int64 // index of the next request of the same key, or never
	distinct int
}

// Prepare scans keys once.
func Prepare(keys []uint64) *Oracle {
	o := &Oracle{ids: make([]int32, len(keys)), nextUse: make([]int64, len(keys))}
	dense := make(map[uint64]int32, len(keys)/4)
	for i, k := range keys {
		id, ok := dense[k]
		if !ok {
			id = int32(len(dense))
			dense[k] = id
		}
		o.ids[i] = id
	}
	o.distinct = len(dense)
	last := make([]int64, o.distinct)
	for i := range last {
		last[i] = never
	}
	for i := len(keys) - 1; i >= 0; i-- {
		id := o.ids[i]
		o.nextUse[i] = last[id]
		last[id] = int64(i)
	}
	return o
}

// Distinct returns the number of distinct keys.
func (o *Oracle) Distinct() int { return o.distinct }

// Replay returns the optimal hits with bypass for a cache of capacity
// entries.
func (o *Oracle) Replay(capacity int) Result { return o.ReplayEach(capacity, nil) }

// ReplayEach is Replay that also calls hit, if not nil, with the index of
// each request the optimal cache hits.
func (o *Oracle) ReplayEach(capacity int, hit func(i int)) Result {
	res := Result{Requests: len(o.ids)}
	if capacity <= 0 {
		return res
	}
	h := newHeap(o.distinct, capacity)
	for i, id := range o.ids {
		next := o.nextUse[i]
		if h.contains(id) {
			res.Hits++
			if hit != nil {
				hit(i)
			}
			h.update(id, next)
			continue
		}
		if next == never {
			continue // never used again: storing it cannot help
		}
		if h.len() < capacity {
			h.push(id, next)
			continue
		}
		if far := h.maxPriority(); next < far {
			h.replaceMax(id, next)
		}
	}
	return res
}
