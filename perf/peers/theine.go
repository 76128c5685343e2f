package peers

import theinego "github.com/Yiling-J/theine-go"

// theine: W-TinyLFU with a maintenance goroutine.
type theine[K Key, V any] struct {
	c    *theinego.Cache[K, V]
	cost func(V) uint32
}

func newTheine[K Key, V any](cfg Config[V]) (Cache[K, V], error) {
	c, err := theinego.NewBuilder[K, V](cfg.Capacity).Build()
	if err != nil {
		return nil, err
	}
	return &theine[K, V]{c: c, cost: cfg.Weigher}, nil
}

func (t *theine[K, V]) Name() string      { return Theine }
func (t *theine[K, V]) Get(k K) (V, bool) { return t.c.Get(k) }
func (t *theine[K, V]) Len() int          { return t.c.Len() }
func (t *theine[K, V]) Close()            { t.c.Close() }

// HeldWeight sums the weights of the entries: theine does not report the
// cost it holds.
func (t *theine[K, V]) HeldWeight() int64 {
	if t.cost == nil {
		return -1
	}
	var w int64
	t.c.Range(func(_ K, v V) bool {
		w += int64(max(t.cost(v), 1))
		return true
	})
	return w
}

// Wait applies the writes buffered so far to the policy.
func (t *theine[K, V]) Wait() { t.c.Wait() }

func (t *theine[K, V]) Set(k K, v V) bool {
	cost := int64(1)
	if t.cost != nil {
		cost = int64(max(t.cost(v), 1))
	}
	return t.c.Set(k, v, cost)
}
