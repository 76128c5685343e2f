package fifo

// Queue is an intrusive singly linked FIFO of entries. It is not safe for
// concurrent use: the shard lock guards it.
type Queue[K comparable, V any] struct {
	head, tail *Entry[K, V]
	n          int   // nodes linked, dead ones included
	weight     int64 // weight of the live nodes
}

// Len returns the number of linked nodes, dead ones included.
func (q *Queue[K, V]) Len() int { return q.n }

// Weight returns the weight of the live entries.
func (q *Queue[K, V]) Weight() int64 { return q.weight }

func (q *Queue[K, V]) pushBack(e *Entry[K, V]) {
	e.next = nil
	if q.tail == nil {
		q.head = e
	} else {
		q.tail.next = e
	}
	q.tail = e
	q.n++
}

func (q *Queue[K, V]) pushFront(e *Entry[K, V]) {
	e.next = q.head
	q.head = e
	if q.tail == nil {
		q.tail = e
	}
	q.n++
}

func (q *Queue[K, V]) insertAfter(at, e *Entry[K, V]) {
	e.next = at.next
	at.next = e
	if q.tail == at {
		q.tail = e
	}
	q.n++
}

func (q *Queue[K, V]) popFront() *Entry[K, V] {
	e := q.head
	if e == nil {
		return nil
	}
	q.head = e.next
	if q.head == nil {
		q.tail = nil
	}
	e.next = nil
	q.n--
	return e
}

// compact unlinks the dead nodes and returns how many it dropped.
func (q *Queue[K, V]) compact() int {
	dropped := 0
	var prev *Entry[K, V]
	for e := q.head; e != nil; {
		next := e.next
		if e.meta.Load()&dead != 0 {
			if prev == nil {
				q.head = next
			} else {
				prev.next = next
			}
			e.next = nil
			e.meta.And(^uint32(queued))
			dropped++
		} else {
			prev = e
		}
		e = next
	}
	q.tail = prev
	q.n -= dropped
	return dropped
}

// Each calls f for every live node from head to tail.
func (q *Queue[K, V]) Each(f func(*Entry[K, V])) {
	for e := q.head; e != nil; e = e.next {
		if e.meta.Load()&dead == 0 {
			f(e)
		}
	}
}

// EachNode calls f for every linked node, dead ones included; for checks.
func (q *Queue[K, V]) EachNode(f func(*Entry[K, V])) {
	for e := q.head; e != nil; e = e.next {
		f(e)
	}
}
