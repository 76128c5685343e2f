package fifo

// SmallPercent is the small queue's share of the capacity, as in S3-FIFO
// and TinyUFO.
const SmallPercent = 10

// S3 is one shard's pair of S3-FIFO queues. Not safe for concurrent use:
// the shard lock guards it (readers only touch entries' frequencies).
//
// Removal is lazy: Remove flags the entry dead and drops its weight at once,
// while its node stays linked until eviction meets it or a compaction
// (triggered when dead nodes outnumber half the live ones) unlinks it. This
// keeps queues singly linked: 8 bytes of links per entry.
type S3[K comparable, V any] struct {
	small, main Queue[K, V]
	smallCap    int64
	dead        int // dead nodes still linked
}

// Init sets the capacity the small queue's share is taken from.
func (p *S3[K, V]) Init(capacity int64) {
	*p = S3[K, V]{smallCap: max(capacity*SmallPercent/100, 1)}
}

// Small and Main expose the queues, for invariant checks.
func (p *S3[K, V]) Small() *Queue[K, V] { return &p.small }
func (p *S3[K, V]) Main() *Queue[K, V]  { return &p.main }

// DeadNodes returns the number of removed entries still linked.
func (p *S3[K, V]) DeadNodes() int { return p.dead }

// Weight returns the live weight in both queues.
func (p *S3[K, V]) Weight() int64 { return p.small.weight + p.main.weight }

// Add inserts a new entry at the small queue's tail.
func (p *S3[K, V]) Add(e *Entry[K, V]) {
	e.meta.Store(queued)
	p.small.pushBack(e)
	p.small.weight += int64(e.Weight)
}

// Replace puts e where old was, with old's frequency, and marks old dead.
func (p *S3[K, V]) Replace(old, e *Entry[K, V]) {
	m := old.meta.Load()
	q := p.queueOf(m)
	e.meta.Store(m&(freqMask|inMain) | queued)
	q.insertAfter(old, e)
	q.weight += int64(e.Weight)
	p.Remove(old)
}

// Remove marks a queued entry dead and takes its weight off its queue.
func (p *S3[K, V]) Remove(e *Entry[K, V]) {
	m := e.meta.Load()
	if m&dead != 0 || m&queued == 0 {
		return
	}
	e.meta.Or(dead)
	p.queueOf(m).weight -= int64(e.Weight)
	p.dead++
	if p.dead > 16 && p.dead > (p.small.n+p.main.n-p.dead)/2 {
		p.dead -= p.small.compact() + p.main.compact()
	}
}

func (p *S3[K, V]) queueOf(m uint32) *Queue[K, V] {
	if m&inMain != 0 {
		return &p.main
	}
	return &p.small
}

// pop takes the first live node off q, dropping dead ones.
func (p *S3[K, V]) pop(q *Queue[K, V]) *Entry[K, V] {
	for {
		e := q.popFront()
		if e == nil {
			return nil
		}
		if e.meta.Load()&dead == 0 {
			q.weight -= int64(e.Weight)
			return e
		}
		e.meta.And(^uint32(queued))
		p.dead--
	}
}

// Victim unlinks and returns the entry S3-FIFO evicts next, or nil when the
// queues are empty. On its way it promotes read entries from small to main
// and gives read entries in main another round (CLOCK). An entry expired at
// now is returned as soon as it is met, whatever its frequency. The victim
// is still marked queued: the caller either evicts it (Evicted) or puts it
// back (Unpop).
func (p *S3[K, V]) Victim(now int64) *Entry[K, V] {
	for {
		if p.small.weight > p.smallCap || p.main.weight == 0 {
			if e := p.pop(&p.small); e != nil {
				if expired(e, now) || e.Freq() == 0 {
					return e
				}
				e.meta.Or(inMain)
				e.SetFreq(0)
				p.main.pushBack(e)
				p.main.weight += int64(e.Weight)
				continue
			}
		}
		e := p.pop(&p.main)
		if e == nil {
			if p.small.weight > 0 {
				continue // everything was in small after all
			}
			return nil
		}
		if expired(e, now) || e.Freq() == 0 {
			return e
		}
		e.decFreq()
		p.main.pushBack(e)
		p.main.weight += int64(e.Weight)
	}
}

// Unpop puts a victim back at the head of the queue it came from.
func (p *S3[K, V]) Unpop(e *Entry[K, V]) {
	q := p.queueOf(e.meta.Load())
	q.pushFront(e)
	q.weight += int64(e.Weight)
}

// Evicted records that a victim left the cache.
func (p *S3[K, V]) Evicted(e *Entry[K, V]) {
	e.meta.Or(dead)
	e.meta.And(^uint32(queued))
}

// Reset empties both queues.
func (p *S3[K, V]) Reset() {
	p.small, p.main, p.dead = Queue[K, V]{}, Queue[K, V]{}, 0
}

func expired[K comparable, V any](e *Entry[K, V], now int64) bool {
	return e.Expire != 0 && now >= e.Expire
}
