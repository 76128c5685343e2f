package shard

import (
	"errors"
	"fmt"

	"github.com/ufocache/ufocache/fifo"
)

// Check verifies the shard's accounting under its lock: the index and the
// queues hold the same entries, every live entry is in exactly one queue,
// and the counted length, weight and dead nodes match what is linked. It is
// for tests; it costs a walk of the whole shard.
func (s *Shard[K, V]) Check() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	fail := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	inIndex := map[*fifo.Entry[K, V]]bool{}
	var idxWeight int64
	t := s.idx.t.Load()
	for g := range t.groups {
		grp := &t.groups[g]
		ctrl := grp.ctrl.Load()
		for i := range grp.slots {
			b := uint8(ctrl >> (8 * i))
			e := grp.slots[i].Load()
			switch {
			case b == 0:
				if e != nil {
					fail("group %d slot %d: control %#x but a pointer", g, i, b)
				}
			case b&0x80 == 0:
				fail("group %d slot %d: bad control byte %#x", g, i, b)
			case e == nil:
				fail("group %d slot %d: tag without a pointer", g, i)
			case tagOf(s.hash(e.Key)) != b:
				fail("group %d slot %d: tag %#x, entry's is %#x", g, i, b, tagOf(s.hash(e.Key)))
			case inIndex[e]:
				fail("entry %v indexed twice", e.Key)
			default:
				inIndex[e] = true
				idxWeight += int64(e.Weight)
				if s.Find(e.Key, s.hash(e.Key)) != e {
					fail("entry %v is not found by its key", e.Key)
				}
			}
		}
	}
	if err := s.idx.checkOverflows(t); err != nil {
		errs = append(errs, err)
	}
	if err := s.idx.checkRebuild(t); err != nil {
		errs = append(errs, err)
	}
	if len(inIndex) != s.idx.live || len(inIndex) != s.Len() {
		fail("index holds %d entries; counted %d live, length %d", len(inIndex), s.idx.live, s.Len())
	}
	if idxWeight != s.Weight() {
		fail("indexed weight %d, counted %d", idxWeight, s.Weight())
	}
	if s.Weight() > s.capacity {
		fail("weight %d above capacity %d", s.Weight(), s.capacity)
	}

	queued := map[*fifo.Entry[K, V]]bool{}
	walk := func(name string, q *fifo.Queue[K, V], main bool) {
		if err := q.Check(); err != nil {
			fail("%s: %v", name, err)
		}
		q.Each(func(e *fifo.Entry[K, V]) {
			switch {
			case !e.Queued() || e.Dead():
				fail("%s: linked entry %v flagged unlinked or dead", name, e.Key)
			case e.InMain() != main:
				fail("%s: entry %v flagged for the other queue", name, e.Key)
			case queued[e]:
				fail("%s: entry %v linked twice", name, e.Key)
			case !inIndex[e]:
				fail("%s: entry %v not in the index (orphan)", name, e.Key)
			}
			queued[e] = true
		})
	}
	walk("small", s.policy.Small(), false)
	walk("main", s.policy.Main(), true)
	if len(queued) != len(inIndex) {
		fail("%d entries queued, %d indexed", len(queued), len(inIndex))
	}
	if n := s.policy.Len(); n != len(queued) {
		fail("the policy counts %d entries, %d are queued", n, len(queued))
	}
	if c := s.policy.SmallCap(); c < 1 || c > max(fifo.Share(s.capacity, fifo.MaxSmallPercent, 100), 1) {
		fail("small share %d outside [1, %d%% of %d]", c, fifo.MaxSmallPercent, s.capacity)
	}
	if err := s.policy.CheckBets(); err != nil {
		fail("%v", err)
	}
	if w := s.policy.Weight(); w != s.Weight() {
		fail("queues weigh %d, counted %d", w, s.Weight())
	}
	ttl := 0
	for e := range inIndex {
		if e.Expires() {
			ttl++
		}
	}
	if ttl != s.ttlEntries {
		fail("%d entries with a TTL, counted %d", ttl, s.ttlEntries)
	}
	// Every group's earliest expiry is at most its entries' (the sweep
	// would pass them by otherwise).
	for g := range t.groups {
		for i := range t.groups[g].slots {
			e := t.groups[g].slots[i].Load()
			if e == nil || !e.Expires() {
				continue
			}
			if t.due == nil {
				fail("entry %v has an expiry, the table notes none", e.Key)
			} else if t.due[g] > dueTick(e.Expire) {
				fail("group %d notes its earliest expiry at tick %d, entry %v expires at tick %d", g, t.due[g], e.Key, dueTick(e.Expire))
			}
		}
	}
	return errors.Join(errs...)
}

// LockForTest takes the write lock and returns its unlock, so that a test
// can show readers do not wait for writers.
func (s *Shard[K, V]) LockForTest() (unlock func()) {
	s.mu.Lock()
	return s.mu.Unlock
}

// checkOverflows verifies t's overflow counts against its entries' probes:
// each group counts, per bin, the entries of that bin placed past it from
// a home at or before it. A saturated count may be above that.
func (x *index[K, V]) checkOverflows(t *table[K, V]) error {
	const bins = 8 / binBits
	want := make([][bins]uint64, t.n)
	for g := range t.groups {
		grp := &t.groups[g]
		for i := range grp.slots {
			e := grp.slots[i].Load()
			if e == nil {
				continue
			}
			h := x.hash(e.Key)
			for p := home(h, t.n); p != uint64(g); {
				want[p][(binShift(h)-ovfShift)/binBits]++
				if p++; p == t.n {
					p = 0
				}
			}
		}
	}
	var errs []error
	for g := range t.groups {
		for b := range uint(bins) {
			got := t.groups[g].ctrl.Load() >> (ovfShift + b*binBits) & ovfMax
			if w := want[g][b]; got != w && got != ovfMax {
				errs = append(errs, fmt.Errorf("index group %d counts %d entries of bin %d past it, %d are", g, got, b, w))
			}
		}
	}
	return errors.Join(errs...)
}

// checkRebuild verifies the table a rebuild is filling from t, if any: it
// holds, each once, the entries of t's groups it has copied so far, and
// no others, with true overflow counts and expiry notes.
func (x *index[K, V]) checkRebuild(t *table[K, V]) error {
	next := t.next
	if next == nil {
		return nil
	}
	var errs []error
	fail := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if next.n < t.n || next.copied >= t.n { // a finished one is the index's table
		fail("rebuild: %d groups of %d copied into a table of %d", next.copied, t.n, next.n)
		return errors.Join(errs...)
	}
	want := map[*fifo.Entry[K, V]]bool{}
	for g := range next.copied {
		for i := range t.groups[g].slots {
			if e := t.groups[g].slots[i].Load(); e != nil {
				want[e] = true
			}
		}
	}
	got := map[*fifo.Entry[K, V]]bool{}
	for g := range next.groups {
		grp := &next.groups[g]
		ctrl := grp.ctrl.Load()
		for i := range grp.slots {
			e, b := grp.slots[i].Load(), uint8(ctrl>>(8*i))
			switch {
			case e == nil && b == 0:
			case e == nil || b != tagOf(x.hash(e.Key)):
				fail("rebuild: group %d slot %d: control %#x, entry %v", g, i, b, e)
			case got[e]:
				fail("rebuild: entry %v held twice", e.Key)
			case !want[e]:
				fail("rebuild: entry %v held, not in a copied group", e.Key)
			default:
				got[e] = true
				if e.Expires() && (next.due == nil || next.due[g] > dueTick(e.Expire)) {
					fail("rebuild: group %d does not note entry %v's expiry", g, e.Key)
				}
			}
		}
	}
	for e := range want {
		if !got[e] {
			fail("rebuild: entry %v of a copied group is missing", e.Key)
		}
	}
	if err := x.checkOverflows(next); err != nil {
		fail("rebuild: %v", err)
	}
	return errors.Join(errs...)
}
