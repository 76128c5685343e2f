package peers

import ristrettov2 "github.com/dgraph-io/ristretto/v2"

// ristretto: TinyLFU admission, sampled LFU eviction, buffered writes.
// Configured as its README advises: 10 counters per expected entry (not per
// unit of weight: a byte-weighted cache would allocate gigabytes), BufferItems 64,
// and IgnoreInternalCost so that the bound is an entry count. The adapter
// is one pointer, as every unweighted adapter is (see otter2);
// ristrettoWeighted carries the weigher.
type ristretto[K Key, V any] struct{ c *ristrettov2.Cache[K, V] }

// ristrettoWeighted is ristretto built with a Weigher: each Set costs the
// value's weight, and it reports the weight it holds (not its entries).
type ristrettoWeighted[K Key, V any] struct {
	ristretto[K, V]
	cost func(V) uint32
}

func newRistretto[K Key, V any](cfg Config[V]) (Cache[K, V], error) {
	entries := cfg.Entries
	if entries <= 0 {
		entries = cfg.Capacity
	}
	c, err := ristrettov2.NewCache(&ristrettov2.Config[K, V]{
		NumCounters:        10 * entries,
		MaxCost:            cfg.Capacity,
		BufferItems:        64,
		IgnoreInternalCost: true,
	})
	if err != nil {
		return nil, err
	}
	if cfg.Weigher != nil {
		return &ristrettoWeighted[K, V]{ristretto[K, V]{c}, cfg.Weigher}, nil
	}
	return ristretto[K, V]{c}, nil
}

func (r ristretto[K, V]) Name() string      { return Ristretto }
func (r ristretto[K, V]) Get(k K) (V, bool) { return r.c.Get(k) }
func (r ristretto[K, V]) Close()            { r.c.Close() }

// Wait blocks until the buffered Sets are applied.
func (r ristretto[K, V]) Wait() { r.c.Wait() }

// Set may return false: ristretto drops writes when its buffer is full.
func (r ristretto[K, V]) Set(k K, v V) bool { return r.c.Set(k, v, 1) }

// Len is the cost in use, which is the entry count: every entry costs 1.
func (r ristretto[K, V]) Len() int { return int(r.c.MaxCost() - r.c.RemainingCost()) }

func (r ristretto[K, V]) HeldWeight() int64 { return -1 }

// Set may return false: ristretto drops writes when its buffer is full.
func (r *ristrettoWeighted[K, V]) Set(k K, v V) bool {
	return r.c.Set(k, v, int64(max(r.cost(v), 1)))
}

// Len is -1: with a weigher ristretto cannot count entries.
func (r *ristrettoWeighted[K, V]) Len() int { return -1 }

// HeldWeight is the cost in use.
func (r *ristrettoWeighted[K, V]) HeldWeight() int64 { return r.c.MaxCost() - r.c.RemainingCost() }
