package fifo

// Queue is an intrusive doubly linked FIFO of entries. It is not safe for
// concurrent use: the shard lock guards it.
type Queue[K comparable, V any] struct {
	head, tail *Entry[K, V]
	n          int
	weight     int64
}

// Len returns the number of entries.
func (q *Queue[K, V]) Len() int { return q.n }

// Weight returns the entries' total weight.
func (q *Queue[K, V]) Weight() int64 { return q.weight }

func (q *Queue[K, V]) pushBack(e *Entry[K, V]) {
	e.next, e.prev = nil, q.tail
	if q.tail == nil {
		q.head = e
	} else {
		q.tail.next = e
	}
	q.tail = e
	q.n++
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
	q.n++
	q.weight += int64(e.Weight)
}

func (q *Queue[K, V]) unlink(e *Entry[K, V]) {
	if e.prev == nil {
		q.head = e.next
	} else {
		e.prev.next = e.next
	}
	if e.next == nil {
		q.tail = e.prev
	} else {
		e.next.prev = e.prev
	}
	e.next, e.prev = nil, nil
	q.n--
	q.weight -= int64(e.Weight)
}

// swap puts e in old's place.
func (q *Queue[K, V]) swap(old, e *Entry[K, V]) {
	e.prev, e.next = old.prev, old.next
	if e.prev == nil {
		q.head = e
	} else {
		e.prev.next = e
	}
	if e.next == nil {
		q.tail = e
	} else {
		e.next.prev = e
	}
	old.next, old.prev = nil, nil
	q.weight += int64(e.Weight) - int64(old.Weight)
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
	}
}

// Check verifies the links both ways and the counts; for tests.
func (q *Queue[K, V]) Check() error {
	n, w := 0, int64(0)
	var prev *Entry[K, V]
	for e := q.head; e != nil; e = e.next {
		if e.prev != prev {
			return errBadLink
		}
		prev = e
		n++
		w += int64(e.Weight)
	}
	if prev != q.tail || n != q.n || w != q.weight {
		return errBadCount
	}
	return nil
}
