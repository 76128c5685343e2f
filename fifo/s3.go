package fifo

import (
	"errors"

	"github.com/ufocache/ufocache/sketch"
)

// SmallPercent is the small queue's share of the capacity: between S3-FIFO's
// 10% and W-TinyLFU's 1% window. On the bundled traces every share from 3%
// to 7% beat both ends on average (5% against 10%: +0.37 pp over 53 cells,
// loops and zig-zags up to +4.8, recency-heavy sprite and oltp down to
// -1.6). A fixed share is a stopgap: the right one depends on the workload,
// and adapting it online is the open policy work.
const SmallPercent = 5

var (
	errBadLink  = errors.New("fifo: a prev link does not match")
	errBadCount = errors.New("fifo: counted length or weight does not match the links")
)

// S3 is one shard's pair of S3-FIFO queues with TinyLFU admission into the
// main queue. Not safe for concurrent use: the shard lock guards it
// (readers only touch entries' frequencies).
//
// The policy: a new entry always enters the small queue. When the small
// queue holds more than its share, its head leaves it: promoted to main if
// it was read while in small; moved to main if main has room; otherwise it
// must beat the entries main would evict next, by the sketch's estimate of
// their frequencies, or it leaves the cache. Main evicts with CLOCK: a read
// entry gets another round with its frequency decremented. Reads are
// counted by the entries' 2-bit frequencies (no shared write on a Get) and
// folded into the sketch whenever the policy consumes one (a promotion or
// a CLOCK round), so the sketch learns from hits as well as from inserts.
type S3[K comparable, V any] struct {
	small, main Queue[K, V]
	capacity    int64
	smallCap    int64
	sketch      *sketch.Sketch
	hash        func(K) uint64
	victims     []*Entry[K, V] // scratch for admission duels
}

// Init empties the queues and sets the capacity. sk is the admission
// sketch, which the caller also feeds with every insert; hash recomputes
// a key's hash for it.
func (p *S3[K, V]) Init(capacity int64, sk *sketch.Sketch, hash func(K) uint64) {
	*p = S3[K, V]{capacity: capacity, smallCap: max(capacity*SmallPercent/100, 1), sketch: sk, hash: hash}
}

// Small and Main expose the queues, for invariant checks.
func (p *S3[K, V]) Small() *Queue[K, V] { return &p.small }
func (p *S3[K, V]) Main() *Queue[K, V]  { return &p.main }

// Weight returns the weight in both queues.
func (p *S3[K, V]) Weight() int64 { return p.small.weight + p.main.weight }

// Add inserts a new entry at the small queue's tail.
func (p *S3[K, V]) Add(e *Entry[K, V]) {
	e.meta.Store(queued)
	p.small.pushBack(e)
}

// Replace puts e where old was, with old's frequency plus one (the write
// counts as a read of the key, as a Get would), and unlinks old. Nothing
// is written to old: a Set of a hot key would otherwise pull old's cache
// line away from the cores reading it (old is unreachable from the queue
// and the index; it is not flagged dead).
func (p *S3[K, V]) Replace(old, e *Entry[K, V]) {
	m := old.meta.Load()
	f := min(m&freqMask+1, freqMask)
	e.meta.Store(m&(inMain|queued) | f)
	p.queueOf(m).swap(old, e)
}

// Remove unlinks a queued entry.
func (p *S3[K, V]) Remove(e *Entry[K, V]) {
	m := e.meta.Load()
	if m&queued == 0 {
		return
	}
	p.queueOf(m).unlink(e)
	e.meta.Store(dead)
}

func (p *S3[K, V]) queueOf(m uint32) *Queue[K, V] {
	if m&inMain != 0 {
		return &p.main
	}
	return &p.small
}

func (p *S3[K, V]) toMain(e *Entry[K, V]) {
	e.meta.Store(queued | inMain) // frequency 0: it must earn its next round
	p.main.pushBack(e)
}

// pushFront puts a popped entry back at the head of the queue it came from.
func (p *S3[K, V]) pushFront(e *Entry[K, V]) {
	p.queueOf(e.meta.Load()).pushFront(e)
}

// Evict removes entries until the queues fit the capacity, appending each
// one it takes out to out (unlinked and flagged dead). protect, if not nil,
// is never chosen: the entry its caller just stored, which fits alone.
func (p *S3[K, V]) Evict(now int64, protect *Entry[K, V], out []*Entry[K, V]) []*Entry[K, V] {
	var aside *Entry[K, V] // protect, while it is unlinked
	var asideW int64
	for p.Weight()+asideW > p.capacity {
		if p.small.weight > p.smallCap || p.main.weight == 0 {
			if c := p.small.popFront(); c != nil {
				switch {
				case c == protect:
					aside, asideW = c, int64(c.Weight)
				case expired(c, now):
					out = p.drop(c, out)
				case c.Freq() > 0:
					p.sketch.Add(p.hash(c.Key))
					p.toMain(c)
				case p.main.weight+int64(c.Weight) <= p.capacity-p.smallCap:
					p.toMain(c)
				default:
					out = p.duel(c, now, protect, p.capacity-asideW, out)
				}
				continue
			}
		}
		v := p.clock(now)
		if v == nil {
			break // only protect is left
		}
		if v == protect {
			aside, asideW = v, int64(v.Weight)
			continue
		}
		out = p.drop(v, out)
	}
	if aside != nil {
		p.pushFront(aside)
	}
	return out
}

// clock unlinks main's next victim: the first entry that is expired or has
// frequency 0; read entries met on the way go round again with their
// frequency decremented, and that read is folded into the sketch.
func (p *S3[K, V]) clock(now int64) *Entry[K, V] {
	for {
		e := p.main.popFront()
		if e == nil {
			return p.small.popFront()
		}
		if e.Freq() == 0 || expired(e, now) {
			return e
		}
		e.decFreq()
		p.sketch.Add(p.hash(e.Key))
		p.main.pushBack(e)
	}
}

// duel decides between c, leaving the small queue unread, and the main
// entries it would displace: c enters main only if the sketch rates it
// above every one of them; otherwise c leaves and they stay where they were.
//
// Expired entries met on the way leave at once; if that alone makes room
// within limit, c enters main without displacing anyone else.
func (p *S3[K, V]) duel(c *Entry[K, V], now int64, protect *Entry[K, V], limit int64, out []*Entry[K, V]) []*Entry[K, V] {
	freq := p.sketch.Estimate(p.hash(c.Key))
	victims := p.victims[:0]
	admit := true
	for p.main.weight+int64(c.Weight) > p.capacity-p.smallCap {
		v := p.clock(now)
		if v == nil {
			break
		}
		if expired(v, now) {
			out = p.drop(v, out)
			if len(victims) == 0 && p.Weight()+int64(c.Weight) <= limit {
				break
			}
			continue
		}
		victims = append(victims, v)
		if v == protect || p.sketch.Estimate(p.hash(v.Key)) >= freq {
			admit = false
			break
		}
	}
	if admit {
		for _, v := range victims {
			out = p.drop(v, out)
		}
		p.toMain(c)
	} else {
		for i := len(victims) - 1; i >= 0; i-- {
			p.pushFront(victims[i])
		}
		out = p.drop(c, out)
	}
	clear(victims)
	if cap(victims) != cap(p.victims) { // a store only when it grew
		p.victims = victims[:0]
	}
	return out
}

func (p *S3[K, V]) drop(e *Entry[K, V], out []*Entry[K, V]) []*Entry[K, V] {
	e.meta.Store(dead)
	return append(out, e)
}

func expired[K comparable, V any](e *Entry[K, V], now int64) bool {
	return e.Expire != 0 && now >= e.Expire
}
