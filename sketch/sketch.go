// Package sketch is a count-min sketch of 4-bit counters that estimates how
// often a key hash was seen recently, for TinyLFU-style admission.
//
// Each key owns four counters inside one 64-byte block (one cache line), so
// an update or estimate touches one line. Counters saturate at 15. Aging is
// incremental: every sampleSize/len(table) increments, one word of the
// table is halved, so the whole table is halved once per sampleSize
// increments without any caller paying for a full sweep (a few words
// twice in the period of a Grow: see Grow). Memory is half a
// 64-bit word per key of Capacity, which rounds the expected keys up to a
// power of two: 4 to 8 bytes per expected key (more where Resize's least
// room applies).
//
// TinyLFU's doorkeeper (a Bloom filter that takes a key's first occurrence,
// so that keys seen once never reach the counters) was tried as one bit
// per counter, cleared word by word with the aging. It doubles the
// memory and lost (policy suite, 8 replays: mean -0.04 pp, oltp at 250-500
// entries -0.3, multi2 at 250 -0.3, byte hit ratio on cloudphysics at
// 160-640 MiB -0.3 to -0.6), where spending that memory on room for twice
// the keys gained (mean +0.07, before shards had room of their own).
package sketch

import "math/bits"

const blockWords = 8 // 64 bytes

// Sketch is not safe for concurrent use; the shard lock guards it. The
// zero value has no table: Resize (or New) sizes it before any use. The counters every Add writes
// come first, so that a shard can embed the sketch with them on the line
// of its other per-Set writes.
type Sketch struct {
	count     uint32 // len(table) per increment since the last halving, less every per halving
	cursor    uint32 // next word to halve
	every     uint32 // the increments of a full sweep: one word is halved each time count reaches it
	blockBits uint32 // log2(number of blocks)
	table     []uint64

	grow *growth // nil but while a Grow is under way
}

// growth is the state of a Grow under way: old is the table before it,
// copied has bit b set once old block b is in table (as blocks 2b and
// 2b+1), and next is the old block the copy goes on from.
type growth struct {
	old    []uint64
	copied []uint64
	next   int
}

// growBlocks is how many old blocks each Add copies while a Grow is under
// way. An old block holds 16 keys' room, and a shard grows its sketch
// when its entries (at most twice its weighted entries) reach that room,
// so a Grow ends within a 32nd of the Adds before the next one.
const growBlocks = 4

// New returns a sketch sized for about n distinct keys.
func New(n int) *Sketch {
	s := &Sketch{}
	s.Resize(n, 0)
	return s
}

// Resize clears the sketch and sizes it for about n keys, with room for
// least keys at least: the counts are halved once per 10*n increments
// (TinyLFU's sample size), or once per increment for each word of the
// table if that is longer, however large the table, but at least once per
// 2^31 increments (the counter is 32 bits: for n above about 215M keys
// the counts age faster than 10*n).
//
// Halving twice as often (5*n: the counts lean to recency, as sprite and
// cloudphysics's later phases might want) or half as often (20*n) moved
// the policy suite's mean by -0.04 and -0.00 pp and neither of its two
// weak cells by more than 0.15 (sprite at 1000 entries -0.02/+0.07,
// cloudphysics at 16k -0.15/-0.08); 5*n cost oltp at 500 entries 0.4 and
// cloudphysics at 8000 0.6, 20*n loop at 750 0.95 (4 replays).
func (s *Sketch) Resize(n, least int) {
	n = max(n, 1)
	words := max(blockWords, 1<<bits.Len(uint(max(n, least)-1))/2)
	s.table = make([]uint64, words)
	s.blockBits = uint32(bits.TrailingZeros(uint(words / blockWords)))
	s.every = uint32(min(max(10*int64(n), int64(words)), 1<<31))
	s.count, s.cursor = 0, 0
	s.grow = nil
}

// Grow doubles the sketch's size, keeping every key's counts: a key's block
// is the top blockBits bits of its spread hash, so with one bit more it
// lands in block 2b or 2b+1 of the new table, and both start as copies of
// block b (its counters, at the same offsets). The aging then follows n
// keys (10n increments per full halving, capped as Resize's), from the
// same place in the table: the new size, or fewer where the sketch keeps
// room for more keys than it ages for. The cursor, on word w of block b,
// goes to word w of block 2b; block 2b+1's words before w, copies of
// words this period already halved, are halved again when the sweep
// reaches them: up to 7 words, once per Grow (Zipf traffic into a sketch
// of 1024 keys: 3-13 of 4096 keys then read 1 or 2 lower). Skipping them
// would take a range for the cursor to jump on its next pass; not worth
// it.
//
// The copying is spread over the Adds that follow, growBlocks old blocks
// each, so that no single Add copies the whole table (a sketch of 8M keys
// is 32 MiB). Until a block is copied, its keys are read from the old
// table; an Add or a halving that writes to it copies it first. The counts
// read are at every step those of a table copied whole at Grow.
func (s *Sketch) Grow(n int) {
	s.finishGrow()
	old := s.table
	s.table = make([]uint64, 2*len(old))
	s.grow = &growth{old: old, copied: make([]uint64, (len(old)/blockWords+63)/64)}
	s.blockBits++
	s.every = uint32(min(max(10*int64(max(n, 1)), int64(len(s.table))), 1<<31))
	s.cursor = 2*(s.cursor-s.cursor%blockWords) + s.cursor%blockWords
	s.count = 0
}

// has reports whether old block b is copied.
func (g *growth) has(b int) bool { return g.copied[b/64]>>(b%64)&1 != 0 }

// oldBlock is the old block that the block at word w of the grown table
// was copied from.
func oldBlock(w int) int { return w / (2 * blockWords) }

// own copies old block b into table, as blocks 2b and 2b+1, unless it is
// there already. Only while a Grow is under way.
func (s *Sketch) own(b int) {
	g := s.grow
	if g.has(b) {
		return
	}
	src := g.old[b*blockWords : (b+1)*blockWords]
	copy(s.table[2*b*blockWords:], src)
	copy(s.table[(2*b+1)*blockWords:], src)
	g.copied[b/64] |= 1 << (b % 64)
}

// growStep copies the next growBlocks old blocks (those not copied
// already) and ends the Grow once every block is copied.
func (s *Sketch) growStep(blocks int) {
	g := s.grow
	end := min(g.next+blocks, len(g.old)/blockWords)
	for ; g.next < end; g.next++ {
		s.own(g.next)
	}
	if g.next == len(g.old)/blockWords {
		s.grow = nil
	}
}

// finishGrow copies whatever a Grow under way has left.
func (s *Sketch) finishGrow() {
	if s.grow != nil {
		s.growStep(len(s.grow.old) / blockWords)
	}
}

// line returns the table holding the counters of the block at word block
// of table, and where that block starts in it: the old table's block it
// was grown from while it is not copied yet.
func (s *Sketch) line(block int) ([]uint64, int) {
	if g := s.grow; g != nil && !g.has(oldBlock(block)) {
		return g.old, oldBlock(block) * blockWords
	}
	return s.table, block
}

// Capacity returns the number of keys the sketch was sized for.
func (s *Sketch) Capacity() int { return len(s.table) * 2 }

// spread derives the block and four 4-bit counter positions from one hash.
func (s *Sketch) spread(h uint64) (block int, idx uint32) {
	h *= 0x9e3779b97f4a7c15 // fold all bits upwards
	// With one block (blockBits 0) the shift is 64, which Go defines as 0.
	return int(h>>(64-s.blockBits)) * blockWords, uint32(h)
}

// counter returns the word and bit shift of row i's counter for a key
// spread to block and idx: word 2i or 2i+1 of the block, one of its 16
// nibbles.
func counter(block int, idx uint32, i int) (w int, sh uint32) {
	return block + 2*i + int(idx>>(8*i))&1, (idx >> (8*i + 1)) & 15 * 4
}

// Add records one occurrence of h. The update is conservative: only the
// counters at h's current minimum are incremented, so a counter shared
// with more frequent keys is not inflated further (the estimate, the
// minimum, grows by exactly one unless saturated).
func (s *Sketch) Add(h uint64) {
	block, idx := s.spread(h)
	if s.grow != nil {
		s.own(oldBlock(block))
		s.growStep(growBlocks)
	}
	var ws [4]int
	var shs [4]uint32
	m := uint32(15)
	for i := range 4 {
		ws[i], shs[i] = counter(block, idx, i)
		m = min(m, uint32(s.table[ws[i]]>>shs[i])&15)
	}
	if m != 15 {
		for i := range 4 {
			if uint32(s.table[ws[i]]>>shs[i])&15 == m {
				s.table[ws[i]] += 1 << shs[i]
			}
		}
	}
	// len(table) halvings per every increments, spread evenly (with
	// every/len(table) increments between two, rounded down, a table
	// sized up by least aged up to twice as fast as 10*n).
	s.count += uint32(len(s.table))
	if s.count >= s.every {
		s.count -= s.every
		if s.grow != nil {
			s.own(oldBlock(int(s.cursor)))
		}
		// Halve one word: shift every nibble right, dropping the bit that
		// crosses into the nibble below.
		s.table[s.cursor] = (s.table[s.cursor] >> 1) & 0x7777777777777777
		s.cursor++
		if int(s.cursor) == len(s.table) {
			s.cursor = 0
		}
	}
}

// RateOne is what Rate returns for one occurrence counted in a block that
// was just halved.
const RateOne = 1 << 8

// Rate returns h's estimate in units of RateOne, corrected for the phase
// of the incremental aging: RateAt(h, Estimate(h)).
func (s *Sketch) Rate(h uint64) uint32 { return s.RateAt(h, s.Estimate(h)) }

// RateAt returns the rate that an estimate of e for h stands for. A block
// that is next in line to be halved holds a full period's counts on top of
// its halved history, one that was just halved only the halved history:
// in the steady state, the same rate r reads as r(1+φ), where φ is the
// share of a period since h's block was halved. RateAt divides that out,
// so that two keys seen equally often compare equal whichever was halved
// last. A table of one block has no phase to correct.
func (s *Sketch) RateAt(h uint64, e uint32) uint32 {
	e *= RateOne
	n := len(s.table)
	if n == blockWords {
		return e
	}
	block, _ := s.spread(h)
	// Words halved since the middle of h's block was, from 0 (just
	// halved: the cursor is one past it) to n-1 (next in line: the
	// cursor is on it).
	d := (int(s.cursor) - block - blockWords/2 - 1 + 2*n) % n
	return uint32(uint64(e) * uint64(n) / uint64(n+d))
}

// Estimate returns the minimum of h's four counters (0..15).
func (s *Sketch) Estimate(h uint64) uint32 {
	block, idx := s.spread(h)
	table, block := s.line(block)
	m := uint32(15)
	for i := range 4 {
		w, sh := counter(block, idx, i)
		m = min(m, uint32(table[w]>>sh)&15)
	}
	return m
}

// A Size is a sketch's size and aging, as Resize or Grow left them.
type Size struct{ blockBits, every uint32 }

// Size returns the sketch's size and aging.
func (s *Sketch) Size() Size { return Size{s.blockBits, s.every} }

// Grown reports whether Grow has doubled the sketch since it had size z.
func (s *Sketch) Grown(z Size) bool { return s.grow != nil || s.blockBits != z.blockBits }

// Table returns a zeroed table for a sketch of size z, for Restore: made
// where no lock is held.
func (z Size) Table() []uint64 { return make([]uint64, blockWords<<z.blockBits) }

// Restore undoes the Grows since the sketch had size z (taken after a
// Resize): if there were any, it is cleared and sized and aged as z says,
// in table if that is z.Table()'s size (else a table it makes): a cache's
// Clear brings its memory back to what New took. If not, it is left as it
// is, counts and all.
func (s *Sketch) Restore(z Size, table []uint64) {
	if !s.Grown(z) {
		return
	}
	if len(table) != blockWords<<z.blockBits {
		table = z.Table()
	}
	s.table = table
	s.blockBits, s.every = z.blockBits, z.every
	s.count, s.cursor = 0, 0
	s.grow = nil
}

// Reset zeroes every counter.
func (s *Sketch) Reset() {
	clear(s.table)
	s.count, s.cursor = 0, 0
	s.grow = nil
}
