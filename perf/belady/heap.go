package belady

// indexHeap is a max-heap of resident key ids ordered by next use, with
// each id's position kept so that a hit can update its priority in place.
type indexHeap struct {
	ids  []int32
	prio []int64 // prio[i] is the next use of ids[i]
	pos  []int32 // pos[id] is the index of id in ids, or -1
}

func newHeap(distinct, capacity int) *indexHeap {
	h := &indexHeap{
		ids:  make([]int32, 0, capacity),
		prio: make([]int64, 0, capacity),
		pos:  make([]int32, distinct),
	}
	for i := range h.pos {
		h.pos[i] = -1
	}
	return h
}

func (h *indexHeap) len() int               { return len(h.ids) }
func (h *indexHeap) contains(id int32) bool { return h.pos[id] >= 0 }
func (h *indexHeap) maxPriority() int64     { return h.prio[0] }

func (h *indexHeap) push(id int32, p int64) {
	h.ids = append(h.ids, id)
	h.prio = append(h.prio, p)
	h.pos[id] = int32(len(h.ids) - 1)
	h.up(len(h.ids) - 1)
}

// replaceMax evicts the resident with the farthest next use and inserts id.
func (h *indexHeap) replaceMax(id int32, p int64) {
	h.pos[h.ids[0]] = -1
	h.ids[0], h.prio[0] = id, p
	h.pos[id] = 0
	h.down(0)
}

// update sets a resident's next use. On a hit the old next use was the
// current request, the smallest of all, so the new one can only be larger.
func (h *indexHeap) update(id int32, p int64) {
	i := int(h.pos[id])
	old := h.prio[i]
	h.prio[i] = p
	if p > old {
		h.up(i)
	} else {
		h.down(i)
	}
}

func (h *indexHeap) swap(i, j int) {
	h.ids[i], h.ids[j] = h.ids[j], h.ids[i]
	h.prio[i], h.prio[j] = h.prio[j], h.prio[i]
	h.pos[h.ids[i]] = int32(i)
	h.pos[h.ids[j]] = int32(j)
}

func (h *indexHeap) up(i int) {
	for i > 0 {
		parent := (i - 1) / 2
		if h.prio[parent] >= h.prio[i] {
			return
		}
		h.swap(i, parent)
		i = parent
	}
}

func (h *indexHeap) down(i int) {
	n := len(h.ids)
	for {
		big := i
		if l := 2*i + 1; l < n && h.prio[l] > h.prio[big] {
			big = l
		}
		if r := 2*i + 2; r < n && h.prio[r] > h.prio[big] {
			big = r
		}
		if big == i {
			return
		}
		h.swap(i, big)
		i = big
	}
}
