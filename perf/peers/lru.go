package peers

import golru "github.com/hashicorp/golang-lru/v2"

// golang-lru: one mutex around a list and a map.
type lru[K Key, V any] struct{ c *golru.Cache[K, V] }

func newLRU[K Key, V any](cfg Config[V]) (Cache[K, V], error) {
	c, err := golru.New[K, V](int(cfg.Capacity))
	if err != nil {
		return nil, err
	}
	return lru[K, V]{c}, nil
}

func (l lru[K, V]) Name() string      { return LRU }
func (l lru[K, V]) Get(k K) (V, bool) { return l.c.Get(k) }
func (l lru[K, V]) Set(k K, v V) bool { l.c.Add(k, v); return true }
func (l lru[K, V]) Len() int          { return l.c.Len() }
func (l lru[K, V]) Close()            {}

// golang-lru's 2Q: a recent and a frequent LRU plus a ghost list.
type twoQ[K Key, V any] struct{ c *golru.TwoQueueCache[K, V] }

func new2Q[K Key, V any](cfg Config[V]) (Cache[K, V], error) {
	c, err := golru.New2Q[K, V](int(cfg.Capacity))
	if err != nil {
		return nil, err
	}
	return twoQ[K, V]{c}, nil
}

func (q twoQ[K, V]) Name() string      { return TwoQ }
func (q twoQ[K, V]) Get(k K) (V, bool) { return q.c.Get(k) }
func (q twoQ[K, V]) Set(k K, v V) bool { q.c.Add(k, v); return true }
func (q twoQ[K, V]) Len() int          { return q.c.Len() }
func (q twoQ[K, V]) Close()            {}
