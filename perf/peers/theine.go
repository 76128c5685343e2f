package peers

import theinego "github.com/Yiling-J/theine-go"

// theine: W-TinyLFU with a maintenance goroutine. The adapter is one
// pointer, as every unweighted adapter is (see otter2); theineWeighted
// carries the weigher.
type theine[K Key, V any] struct{ c *theinego.Cache[K, V] }

// theineWeighted is theine built with a Weigher: each Set costs the
// value's weight, and it reports the weight it holds.
type theineWeighted[K Key, V any] struct {
	theine[K, V]
	cost func(V) uint32
}

func newTheine[K Key, V any](cfg Config[V]) (Cache[K, V], error) {
	c, err := theinego.NewBuilder[K, V](cfg.Capacity).Build()
	if err != nil {
		return nil, err
	}
	if cfg.Weigher != nil {
		return &theineWeighted[K, V]{theine[K, V]{c}, cfg.Weigher}, nil
	}
	return theine[K, V]{c}, nil
}

func (t theine[K, V]) Name() string      { return Theine }
func (t theine[K, V]) Get(k K) (V, bool) { return t.c.Get(k) }
func (t theine[K, V]) Set(k K, v V) bool { return t.c.Set(k, v, 1) }
func (t theine[K, V]) Len() int          { return t.c.Len() }
func (t theine[K, V]) Close()            { t.c.Close() }

// Wait applies the writes buffered so far to the policy.
func (t theine[K, V]) Wait() { t.c.Wait() }

func (t theine[K, V]) HeldWeight() int64 { return -1 }

func (t *theineWeighted[K, V]) Set(k K, v V) bool {
	return t.c.Set(k, v, int64(max(t.cost(v), 1)))
}

// HeldWeight sums the weights of the entries: theine does not report the
// cost it holds.
func (t *theineWeighted[K, V]) HeldWeight() int64 {
	var w int64
	t.c.Range(func(_ K, v V) bool {
		w += int64(max(t.cost(v), 1))
		return true
	})
	return w
}
