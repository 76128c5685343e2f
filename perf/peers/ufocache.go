package peers

import (
	"time"

	"github.com/ufocache/ufocache"
)

type ufo[K Key, V any] struct {
	c   *ufocache.Cache[K, V]
	ttl func(V) time.Duration // nil: no expiry
}

// clockFunc is a Config.Clock as ufocache's Clock.
type clockFunc func() int64

func (f clockFunc) Nanotime() int64 { return f() }

func newUfocache[K Key, V any](cfg Config[V]) (Cache[K, V], error) {
	opts := ufocache.Options[K, V]{MaxWeight: cfg.Capacity}
	if w := cfg.Weigher; w != nil {
		opts.Weigher = func(_ K, v V) uint32 { return w(v) }
	}
	if cfg.Clock != nil {
		opts.Clock = clockFunc(cfg.Clock)
	}
	c, err := ufocache.New(opts)
	if err != nil {
		return nil, err
	}
	return ufo[K, V]{c, cfg.TTL}, nil
}

func (u ufo[K, V]) Name() string      { return Ufocache }
func (u ufo[K, V]) Get(k K) (V, bool) { return u.c.Get(k) }
func (u ufo[K, V]) Set(k K, v V) bool {
	if u.ttl != nil {
		return u.c.SetWithTTL(k, v, u.ttl(v))
	}
	return u.c.Set(k, v)
}
func (u ufo[K, V]) Len() int { return u.c.Len() }
func (u ufo[K, V]) Close()   {}

// HeldWeight is the weight held (the entry count without a weigher).
func (u ufo[K, V]) HeldWeight() int64 { return u.c.Weight() }
