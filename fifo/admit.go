package fifo

import (
	"errors"
	"fmt"
	"math/bits"
)

// Ghost admission, S3-FIFO's: a newcomer whose key lost a duel not long
// ago and came back is let into main without winning its duel again, but
// only while doing so has been paying off. The sketch rates keys by their
// long-run frequency; when the working set shifts (a block trace moving to
// new extents, a web trace to new pages), main holds residents that were
// frequent and are idle now, every newcomer loses to them, and the cache
// stops learning. Plain S3-FIFO admits every key its ghost remembers and
// wins those phases, but loses loops, zig-zags and skewed frequencies,
// where the residents are worth more.
//
// So each ghost admission is a bet, settled pairwise as Belady would: it
// records its first victim's hash, and pays if the newcomer is read before
// the victim comes back (a miss on the victim's key), costs if the victim
// comes back first, and is void if neither happens while it is recorded.
// A running share of paid bets opens the gate above gatePercent; while it
// is closed, one returning newcomer in exploreEvery is admitted anyway, to
// keep measuring.
//
// A newcomer that wins its duel bets the same way, in a book of its own:
// while fewer than wonPercent of those bets pay, the duel turns strict
// (S3.strict). A newcomer let in blind (S3.blindAdmits) bets in that book
// too: if the blind phase's newcomers are not read before their victims
// come back, the duels that follow it start strict.
//
// Rejections were booked too, and left out. A newcomer that lost its duel
// bets that its victim is requested before it comes back: on sprite 83-86%
// of those bets lose (at 1000 entries duel losers are 3358 of the 3408 misses
// where LRU hits), on loops almost none. But admitting losers while that book
// says so evicts other rejections' victims unread, which makes those
// rejections look wrong in turn: sprite +0.6 to +0.9 pp, zig-zags -0.9 to
// -17, Zipf -0.3 to -2.7. Judged by the admitted losers' own bets instead
// (one loser in 256 admitted to keep measuring), sprite moved less than
// 0.25 pp and loops, gli, zig-zags and Zipf lost 0.3-0.6 (policy suite, 4
// replays). Those shares were found offline, pairing each rejection with
// the trace's future. Kept in the cache (256 slots; wrong if the loser comes
// back before its victim was read), the book cannot tell sprite from the
// rest: only losers that come back before their slot is reused settle, and
// those were wrong 74-100% of the time on every trace but the loops (2-5%)
// and zig-zags (47-61%): sprite 98-100%, but also cloudphysics 80-100%, p3
// and oltp 99% (one replay each, 60-99% of bets voided unsettled).
//
// A bet whose newcomer was read settles when the CLOCK reaches it or its
// slot is reused; checking two slots per arriving key for one already
// read, to settle paid bets sooner, moved the policy suite's mean by
// +0.005 to +0.03 pp (noise; 4 replays, twice).
//
// The bets settle soon: a slot is reused after betSlots more bets, which
// at a high admission rate is a few thousand requests, so the gate reads
// quick reuse. On p3 at 400k entries it opened for the 7% of the trace
// before a burst of returns to older extents; the residents its
// admissions (and the duels won) had displaced then came back, and the
// gate, the won book and the share all collapsed for the next 12%.
// Wagering only one ghost admission in 4 or 16 (so that bets live longer)
// cost p3 at 100k entries 2.2 pp and left p3 at 400k where it was;
// exploring 1 in 2 or 8 once the gate had been open, or growing the small
// share on each paid bet, did not move it either (one shard, one replay;
// the latter, by 8 or 32 units a bet, cost p3 at 100k entries 6-7 pp and
// sprite at 250 2-4 in the policy suite).
// Ties let through the gate as returning keys are (duels the newcomer
// lost only by the margin): on cloudphysics at 16k entries the phase just
// after the fill, where the peers admit newcomers that tie with the fill's
// residents, went from 16/33% to 35/57% hits at 1 in 2 explored, but the
// later phases, where the residents are the ones to keep, lost more (total
// 43.4% -> 38.0%; at 1 in 64, nothing moved).
//
// The ghost of returning keys costs 16 bits per remembered key, half the
// entries' worth (1 byte per entry, once a duel has been lost), and the
// bets 8 KiB per shard (two books of 256 slots, 16 bytes each), allocated
// at the shard's first duel. Measured with the policy suite, two runs of 8
// seeds against 8 without it (go -C perf run . -suite policy -runs 8):
// p3 at 100k entries +2.0 and +2.2 pp (to within 0.3 of plain S3-FIFO),
// oltp at 250/500 entries -0.4 to -0.7 (still 3 pp above every peer), loop
// at 750 and zig-zags -0.2 to -0.3, the rest within ±0.3; the mean the
// same. TestGhostAdmissionOnP3 measures it on one shard.
const (
	// returnPercent is the window of the returning-key ghost, in rejected
	// keys, as a share of the entries held (25 lost the p3 gain).
	returnPercent = 50
	// returnBitsPerKey: at 16 bits a false "returning" is about 0.7%;
	// at 8 (5%), Zipf at 1000 entries lost 1-2 pp.
	returnBitsPerKey = 16
	// gatePercent of bets paid, of those settled, opens the gate. It
	// starts shut: starting at 25-90% paid cost the zig-zags at 500-1500
	// entries 0.5-1.0 pp and cloudphysics at 16k up to 1.2 (policy suite,
	// 4 replays).
	gatePercent = 20
	// exploreEvery: while the gate is shut, one returning newcomer in
	// exploreEvery is admitted anyway. On a zig-zag each costs a
	// resident of main's stable set: at 1500 entries, in one shard, main
	// gives up 6-10 hits a pass where LRU gets 1500, and one in 256 won
	// back about 40% of that; but they are what opens the gate on p3: exploring 4 times less while under 2% or 5% of the bets
	// paid gained the zig-zags at 1000/1500 entries 0.2-0.3 pp and cost
	// p3 at 100k entries 0.5-0.8; one in 256 throughout, 2.3 (policy
	// suite, 8 replays).
	exploreEvery = 64
	// betSlots in each of the two books: ghost admissions, and duels won
	// (policy suite, 8 seeds: 64 -> 256 slots, mean +0.05 pp, oltp at 250
	// entries +0.55, zig-zags at 250/500 +0.3/+0.5; 128: +0.03; 1024:
	// +0.04). More slots let more bets settle before the next bet on a
	// victim with the same slot replaces them.
	betSlots = 256
	// wonPercent: while fewer of the bets on duels won pay, the duel
	// demands the strict margin (see S3.strict).
	wonPercent = 10
)

// ghostAdmission is an S3's ghost admission state, and its bets on duels
// won, allocated at the first duel.
type ghostAdmission[K comparable, V any] struct {
	returning ghost // rejected keys: unsampled
	gate      int64 // running share of settled ghost-admission bets paid, of readsOne
	won       int64 // the same for bets on duels won; starts at one half
	returned  uint32
	// bets in flight, by their victim's hash: ghost admissions in the
	// first betSlots, duels won in the rest. An admitted entry knows its
	// slot (in its meta, from betShift) and is cleared from it when the
	// CLOCK reaches it or it leaves.
	bets [2 * betSlots]bet[K, V]
}

// A bet is open while hv is not 0 (a victim whose hash is 0 gets no bet);
// its slot says its book.
type bet[K comparable, V any] struct {
	e *Entry[K, V] // the admitted newcomer, until the CLOCK reaches it
	// hv is its first victim's hash. e is nil once the newcomer was found
	// unread: the bet is lost if the victim still comes back first.
	hv uint64
}

// slotMask masks a slot from an entry's meta.
const slotMask = 2*betSlots - 1

// slotOf picks a victim hash's slot, with bits the index and the sketch do
// not use.
func slotOf(hv uint64) uint32 { return uint32(remix(hv) >> (64 - bits.Len(betSlots-1))) }

// admission returns the ghost admission state, allocating it.
func (p *S3[K, V]) admission() *ghostAdmission[K, V] {
	if p.ga == nil {
		p.ga = &ghostAdmission[K, V]{returning: ghost{bits: returnBitsPerKey}, won: readsOne / 2}
	}
	return p.ga
}

// rejected remembers the key of a newcomer that lost its duel.
func (p *S3[K, V]) rejected(h uint64) {
	p.admission().returning.add(h, max(p.n*returnPercent/100, 1))
}

// arrived is called for each new key: it flags a returning one, and
// settles the bet whose victim this is, if any.
func (p *S3[K, V]) arrived(e *Entry[K, V], h uint64) {
	ga := p.ga
	if ga == nil {
		return
	}
	if ga.returning.has(h) {
		e.meta.Or(returning)
	}
	for _, s := range [2]uint32{slotOf(h), betSlots + slotOf(h)} {
		if ga.bets[s].hv == h && h != 0 {
			p.settle(s, true)
		}
	}
}

// ghostAdmissionOn: a test turns it off to measure what it is worth.
var ghostAdmissionOn = true

// mayEnter reports whether a returning newcomer enters main without its
// duel: the gate is open, or it is the one in exploreEvery.
func (p *S3[K, V]) mayEnter() bool {
	ga := p.ga
	if !ghostAdmissionOn {
		return false
	}
	ga.returned++
	return ga.gate > readsOne*gatePercent/100 || ga.returned%exploreEvery == 0
}

// wager records c, just admitted to main, against its first victim hv: in
// the book of duels won if duel, else of ghost admissions. A bet already
// in that slot is settled first (paid if its newcomer was read, else void).
func (p *S3[K, V]) wager(c *Entry[K, V], hv uint64, duel bool) {
	if hv == 0 {
		return
	}
	ga := p.admission()
	s := slotOf(hv)
	if duel {
		s += betSlots
	}
	if ga.bets[s].hv != 0 {
		p.settle(s, false)
	}
	ga.bets[s] = bet[K, V]{e: c, hv: hv}
	c.setFlags(queued | inMain | betting | s<<betShift)
}

// examined is called when the CLOCK reaches e, or e leaves the cache: if
// e was admitted on a bet, read means the bet paid; unread, it stays open
// without e (lost if the victim comes back before the slot is reused).
func (p *S3[K, V]) examined(e *Entry[K, V]) {
	m := e.meta.Load()
	if m&betting == 0 {
		return
	}
	if p.ga == nil { // the queues were cleared since
		release(e)
		return
	}
	s := m >> betShift & slotMask
	if e.Freq() > 0 {
		p.settle(s, false)
		return
	}
	release(e)
	p.ga.bets[s].e = nil // no bet keeps an entry alive after it leaves
}

// settle closes the bet in slot s: paid if its newcomer is still held and
// was read, else lost if its victim came back first (back), else void.
func (p *S3[K, V]) settle(s uint32, back bool) {
	b := &p.ga.bets[s]
	share := &p.ga.gate
	if s >= betSlots {
		share = &p.ga.won
	}
	switch {
	case b.e != nil && b.e.Freq() > 0:
		track(share, true)
	case back:
		track(share, false)
	}
	if b.e != nil {
		release(b.e)
	}
	*b = bet[K, V]{}
}

// release clears e's bet flag and slot, keeping its frequency (a reader
// may be raising it).
func release[K comparable, V any](e *Entry[K, V]) {
	e.swapMeta(^uint32(betting|slotMask<<betShift), 0)
}

// CheckBets verifies, for tests, that bets and entries agree: an open bet
// holds nothing or a queued main entry flagged with its slot, and every
// flagged entry in the queues is held by its slot.
func (p *S3[K, V]) CheckBets() error {
	var errs []error
	held := 0
	if ga := p.ga; ga != nil {
		for s := range ga.bets {
			b := &ga.bets[s]
			if b.e == nil {
				continue
			}
			m := b.e.meta.Load()
			switch {
			case b.hv == 0:
				errs = append(errs, fmt.Errorf("fifo: closed bet %d holds entry %v", s, b.e.Key))
			case m&(dead|queued|inMain) != queued|inMain:
				errs = append(errs, fmt.Errorf("fifo: bet %d holds entry %v, not queued in main (meta %#x)", s, b.e.Key, m))
			case m&betting == 0 || int(m>>betShift&slotMask) != s:
				errs = append(errs, fmt.Errorf("fifo: bet %d holds entry %v flagged %#x", s, b.e.Key, m))
			default:
				held++
			}
		}
	}
	flagged := 0
	for _, q := range []*Queue[K, V]{&p.small, &p.main} {
		q.Each(func(e *Entry[K, V]) {
			if e.meta.Load()&betting != 0 {
				flagged++
			}
		})
	}
	if flagged != held {
		errs = append(errs, fmt.Errorf("fifo: %d queued entries flagged as bets, %d held by bets", flagged, held))
	}
	return errors.Join(errs...)
}
