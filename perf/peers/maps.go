package peers

import (
	"sync"

	"github.com/puzpuzpuz/xsync/v3"
)

// The ceilings: concurrent maps with no bound and no policy. They show what
// a lookup costs when nothing but the index is paid for.

type xsyncMap[K Key, V any] struct{ m *xsync.MapOf[K, V] }

func newXsync[K Key, V any]() Cache[K, V] { return xsyncMap[K, V]{xsync.NewMapOf[K, V]()} }

func (x xsyncMap[K, V]) Name() string      { return XsyncMapOf }
func (x xsyncMap[K, V]) Get(k K) (V, bool) { return x.m.Load(k) }
func (x xsyncMap[K, V]) Set(k K, v V) bool { x.m.Store(k, v); return true }
func (x xsyncMap[K, V]) Len() int          { return x.m.Size() }
func (x xsyncMap[K, V]) Close()            {}

type syncMap[K Key, V any] struct{ m sync.Map }

func (s *syncMap[K, V]) Name() string { return SyncMap }

func (s *syncMap[K, V]) Get(k K) (V, bool) {
	v, ok := s.m.Load(k)
	if !ok {
		var zero V
		return zero, false
	}
	return v.(V), true
}

func (s *syncMap[K, V]) Set(k K, v V) bool { s.m.Store(k, v); return true }

// Len is unknown: sync.Map keeps no count.
func (s *syncMap[K, V]) Len() int { return -1 }
func (s *syncMap[K, V]) Close()   {}
