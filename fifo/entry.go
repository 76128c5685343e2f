// Package fifo holds the cache entry and the S3-FIFO queues that order a
// shard's entries for eviction.
//
// S3-FIFO (Yang et al., SOSP 2023) keeps two FIFO queues: a small
// probationary queue that new entries enter, and a main queue. A read only
// saturates a 2-bit frequency on the entry; it never moves the entry, which
// is what lets reads run without a lock. Eviction pops the small queue's
// head while the small queue holds more than its share: a read since it
// was inserted counts once in the TinyLFU sketch; the entry then enters
// main if main has room; otherwise a read entry goes round the small queue
// again, and an unread one enters main only if the sketch rates it clearly
// above the entries main would evict for it. Otherwise eviction pops
// main's head: an entry with frequency > 0 is reinserted at the tail with
// its frequency decremented (CLOCK), the others leave.
//
// The small queue's share adapts, ARC-style, to which queue's evictions are
// regretted: two small sampled ghosts remember the keys that recently left
// the small queue unpromoted and the main queue; a miss on a key in the
// first grows the share, a miss on a key in the second shrinks it; while
// one ghost draws most of the hits, each hit in a run of its hits doubles
// the step, up to eight times (momentum). It starts from the reuse the
// fill showed: the more of the small queue's heads were read there while
// the cache filled, the larger (fillShare). If no key was seen again
// while the cache filled, then from the first overflow until one is,
// newcomers enter main without the sketch's comparison, as in LRU (blind
// admission: the sketch has nothing to rate yet). A key whose entry
// expired after it reached main (or was read) and was reclaimed goes
// straight back to main when it is stored again (S3.Add). All of it
// happens on the miss path under the shard lock: a Get writes nothing but
// the entry's own frequency bits.
package fifo

import "sync/atomic"

// Entry is one key and value. Key, Val, Expire and Weight are written
// before the entry is published to readers and never change afterwards; a
// new value is a new Entry. Readers touch only the frequency bits of meta.
//
// The fields a Get reads (Key, Val, Expire, meta) come first, so that for
// small keys and values they share one cache line.
type Entry[K comparable, V any] struct {
	Key K
	Val V
	// Expire is the Nanotime at which the entry expires; 0: never.
	Expire int64
	// meta holds the 2-bit frequency (readers and writers, atomically) and
	// the queue flags (written only under the shard lock, atomically so
	// that they never clobber a reader's frequency update).
	meta atomic.Uint32
	// Weight is at least 1.
	Weight uint32
	// next and prev link the entry in its queue; guarded by the shard
	// lock. The key's hash is not stored: the write path recomputes it
	// where it needs it, which keeps the entry at 48 bytes for 8-byte keys
	// and values with O(1) unlinking.
	next, prev *Entry[K, V]
}

const (
	freqMask = 3
	inMain   = 1 << 2 // the entry is in the main queue, else the small one
	dead     = 1 << 3 // removed from the cache
	queued   = 1 << 4 // linked in a queue
	// Ghost admission (admit.go), written under the shard lock.
	returning = 1 << 5 // its key lost a duel recently
	betting   = 1 << 6 // admitted on a bet (ghost admission or duel won); its slot follows
	betShift  = 8
)

// Expires reports whether the entry has a TTL.
func (e *Entry[K, V]) Expires() bool { return e.Expire != 0 }

// ExpiredAt reports whether the entry has expired at now: its expiry is
// exclusive, as a read judges it.
func (e *Entry[K, V]) ExpiredAt(now int64) bool { return e.Expire != 0 && now >= e.Expire }

// Touch records a read: it saturates the frequency at 3. The common case is
// one atomic load of a word no one else writes, so hot entries stay shared
// in every core's cache.
func (e *Entry[K, V]) Touch() {
	for {
		m := e.meta.Load()
		if m&freqMask == freqMask || e.meta.CompareAndSwap(m, m+1) {
			return
		}
	}
}

// Freq returns the 2-bit frequency.
func (e *Entry[K, V]) Freq() uint32 { return e.meta.Load() & freqMask }

// Dead reports whether a removal or an eviction took the entry out. An
// entry that Replace displaced, or that a Clear dropped with the whole
// shard, is not flagged.
func (e *Entry[K, V]) Dead() bool { return e.meta.Load()&dead != 0 }

// InMain reports whether the entry is in the main queue.
func (e *Entry[K, V]) InMain() bool { return e.meta.Load()&inMain != 0 }

// Queued reports whether the entry is linked in a queue.
func (e *Entry[K, V]) Queued() bool { return e.meta.Load()&queued != 0 }

// SetFreq sets the frequency, keeping the flags.
func (e *Entry[K, V]) SetFreq(f uint32) { e.swapMeta(^uint32(freqMask), f&freqMask) }

// takeFreq clears the frequency and returns what it was: the reads the
// policy consumes. A read that comes after counts for the next round.
func (e *Entry[K, V]) takeFreq() uint32 { return e.swapMeta(^uint32(freqMask), 0) & freqMask }

// setFlags replaces the queue flags (and bet slot) with flags, keeping the
// frequency: a reader may have raised it since the policy last took it.
func (e *Entry[K, V]) setFlags(flags uint32) { e.swapMeta(freqMask, flags) }

// swapMeta sets meta to its bits in keep plus set, atomically (readers
// raise the frequency bits at any time), and returns the old meta.
func (e *Entry[K, V]) swapMeta(keep, set uint32) uint32 {
	for {
		m := e.meta.Load()
		if e.meta.CompareAndSwap(m, m&keep|set) {
			return m
		}
	}
}

func (e *Entry[K, V]) decFreq() {
	for {
		m := e.meta.Load()
		if m&freqMask == 0 || e.meta.CompareAndSwap(m, m-1) {
			return
		}
	}
}
