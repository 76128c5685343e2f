package fifo

// Queue is an intrusive doubly linked FIFO of entries. It is not safe for
// concurrent use: the shard lock guards it.
//
// The links at the ends are not kept: the head's prev and the tail's next
// are stale, and head and tail say where the queue ends. So popping the
// head, the eviction path, writes nothing to the next entry, whose cache
// line a reader on another core may hold. An entry leaving a queue has
// its own links cleared, so a stale link holds at most that one entry
// from the garbage collector. The queue keeps no count (24 bytes: a
// shard's two queues share the cache line its Sets write).
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
		q.head = e.next // e.next.prev goes stale
	case e == q.tail:
		q.tail = e.prev // e.prev.next goes stale
	default:
		e.prev.next = e.next
		e.next.prev = e.prev
	}
	e.next, e.prev = nil, nil
	q.weight -= int64(e.Weight)
}

// swap puts e in old's place. It writes nothing to old, whose cache line
// readers on other cores may hold: old's stale links are harmless, as old
// is unreachable from the queue and the index.
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

// Check verifies the links both ways and the weight; for tests.
func (q *Queue[K, V]) Check() error {
	if (q.head == nil) != (q.tail == nil) {
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
