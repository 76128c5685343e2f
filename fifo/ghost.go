package fifo

import "math/bits"

// ghost remembers, approximately, the sampled keys that recently left one
// queue: about the last limit of them, as two blocked Bloom filters that
// take turns (keys go into cur; when cur holds limit/2 of them it becomes
// prev and the old prev is cleared for new keys), so a key is remembered
// for between limit/2 and limit sampled evictions. 32 bits per remembered
// key, its three bits in one word: a look-up is one load per filter, and
// false positives stay near 0.1%. (With 12 bits per key, 2% false
// positives on every miss were enough noise to cost 3 pp on Zipf 0.8 at
// 1000 entries.) Only one key in ghostSample is tracked, so the two ghosts
// of a shard (two filters each, rounded up to powers of two) cost about
// 0.1-0.2 bytes per entry it holds.
type ghost struct {
	cur, prev []uint64
	n         int32 // keys added to cur
	bits      int32 // per remembered key; 0 means ghostBitsPerKey
}

const ghostBitsPerKey = 32

// bitsOf returns the word index and the three-bit mask of hash h in a
// filter of len words (a power of two). The bits come from a multiplicative
// remix, so they are independent of those the index and the sketch use.
func bitsOf(h uint64, words int) (int, uint64) {
	h = remix(h)
	m := uint64(1)<<(h&63) | uint64(1)<<(h>>6&63) | uint64(1)<<(h>>12&63)
	return int(h>>32) & (words - 1), m
}

// ghostSample: the ghosts track one key in ghostSample (by hash), and a
// ghost hit moves the share by ghostSample times the entry's weight. One in
// 8 and one in 1 (no sampling) gave the same hit ratios on the traces
// before the share's steps had momentum (S3.momentum), whose runs are
// runs of sampled hits; with it, one in 1 or 2 cost oltp at 250-1000
// entries 2-6 pp and p3 at 400k 0.7-1.0, one in 16 or 32 oltp and sprite
// at 250 0.3-1.4 (policy suite, 8 replays).
const ghostSample = 8

// sampled reports whether the ghosts track the key of hash h.
func sampled(h uint64) bool {
	return (remix(h)>>18)&(ghostSample-1) == 0
}

func (g *ghost) has(h uint64) bool {
	for _, f := range [2][]uint64{g.cur, g.prev} {
		if len(f) != 0 {
			if i, m := bitsOf(h, len(f)); f[i]&m == m {
				return true
			}
		}
	}
	return false
}

// add remembers h within a window of limit keys. The filters turn when
// cur holds limit/2 keys, or as many as it was sized for: limit follows the
// entries a shard holds, and may grow between two turns (a weighted shard
// whose heavy entries give way to light ones), and cur, sized at the last
// turn, would otherwise fill up and remember nearly every key.
func (g *ghost) add(h uint64, limit int) {
	half := max(limit/2, 1)
	per := int(g.bits)
	if per == 0 {
		per = ghostBitsPerKey
	}
	if int(g.n) >= half || len(g.cur) == 0 || int(g.n)*per >= len(g.cur)*64 {
		words := 1 << bits.Len(uint(half*per-1)/64)
		g.cur, g.prev = g.prev, g.cur
		if len(g.cur) != words {
			g.cur = make([]uint64, words)
		} else {
			clear(g.cur)
		}
		g.n = 0
	}
	i, m := bitsOf(h, len(g.cur))
	g.cur[i] |= m
	g.n++
}

// remix decorrelates the ghosts' bits from those the index and the sketch
// take from the same hash.
func remix(h uint64) uint64 {
	h *= 0xc2b2ae3d27d4eb4f
	return h ^ h>>29
}
