package fifo

// Queue is an intrusive doubly linked FIFO of entries. It is not safe for
// concurrent use: the shard lock guards it.
//
// No entry in the queue links to one outside it: the head's prev and the
// tail's next are nil, and an entry that leaves (or that swap displaces)
// has its neighbours' links moved on. So the queue holds from the garbage
// collector only the entries it holds, whatever links the ones that left
// still have. (The ends' links were once left stale, to spare a pop the
// write to the next entry: a popped entry stayed reachable from the new
// head; were its value replaced, the displaced version still linked its
// old neighbours, and theirs theirs, so a cache whose keys were rewritten
// without eviction moving its heads held nearly every value it ever had:
// TestReplacedValuesAreCollectable.) The queue keeps no count (24 bytes:
// a shard's two queues share the cache line its Sets write).
type Queue[K comparable, V any] struct {
	head, tail *Entry[K, V]
	weight     int64
}

// Len walks the queue to count its entries: for checks and tests.
func (q *Queue[K, V]) Len() int {
	n := 0
	q.Each(func(*Entry[K, V]) { n++ })
	return n
}

func (q *Queue[K, V]) pushBack(e *Entry[K, V]) {
	e.next, e.prev = nil, q.tail
	if q.tail == nil {
		q.head = e
	} else {
		q.tail.next = e
	}
	q.tail = e
	q.weight += int64(e.Weight)
}

func (q *Queue[K, V]) pushFront(e *Entry[K, V]) {
	e.next, e.prev = q.head, nil
	if q.head == nil {
		q.tail = e
	} else {
		q.head.prev = e
	}
	q.head = e
	q.weight += int64(e.Weight)
}

func (q *Queue[K, V]) unlink(e *Entry[K, V]) {
	switch {
	case e == q.head && e == q.tail:
		q.head, q.tail = nil, nil
	case e == q.head:
		q.head = e.next
		q.head.prev = nil
	case e == q.tail:
		q.tail = e.prev
		q.tail.next = nil
	default:
		e.prev.next = e.next
		e.next.prev = e.prev
	}
	e.next, e.prev = nil, nil
	q.weight -= int64(e.Weight)
}

// swap puts e in old's place. It writes nothing to old, whose cache line
// readers on other cores may hold: old keeps its links, but no entry in
// the queue links to it.
func (q *Queue[K, V]) swap(old, e *Entry[K, V]) {
	e.prev, e.next = old.prev, old.next
	if old == q.head {
		q.head = e
	} else {
		e.prev.next = e
	}
	if old == q.tail {
		q.tail = e
	} else {
		e.next.prev = e
	}
	if e.Weight != old.Weight {
		q.weight += int64(e.Weight) - int64(old.Weight)
	}
}

func (q *Queue[K, V]) popFront() *Entry[K, V] {
	e := q.head
	if e != nil {
		q.unlink(e)
	}
	return e
}

// Each calls f for every entry from head to tail.
func (q *Queue[K, V]) Each(f func(*Entry[K, V])) {
	for e := q.head; e != nil; e = e.next {
		f(e)
		if e == q.tail {
			return
		}
	}
}

// Check verifies the links both ways (the ends' outer links nil) and the
// weight; for tests.
func (q *Queue[K, V]) Check() error {
	if (q.head == nil) != (q.tail == nil) || q.head != nil && (q.head.prev != nil || q.tail.next != nil) {
		return errBadLink
	}
	w := int64(0)
	var prev *Entry[K, V]
	for e := q.head; e != nil; e = e.next {
		if prev != nil && e.prev != prev {
			return errBadLink
		}
		prev = e
		w += int64(e.Weight)
		if e == q.tail {
			break
		}
	}
	if prev != q.tail || w != q.weight {
		return errBadCount
	}
	return nil
}
