package peers

import (
	"time"

	otterv1 "github.com/maypok86/otter"
	otterv2 "github.com/maypok86/otter/v2"
)

// otter v2: adaptive W-TinyLFU with striped read buffers. The adapter is
// one pointer, as ufocache's is (see ufo): an interface holds it without
// an indirection. It was two words (the cache and whether it weighs), a
// load more per Get and Set than ufocache's adapter paid.
type otter2[K Key, V any] struct{ c *otterv2.Cache[K, V] }

// otter2Weighted is otter2 built with a Weigher: it reports the weight it
// holds.
type otter2Weighted[K Key, V any] struct{ otter2[K, V] }

func newOtterV2[K Key, V any](cfg Config[V]) (Cache[K, V], error) {
	opts := &otterv2.Options[K, V]{}
	if w := cfg.Weigher; w != nil {
		opts.MaximumWeight = uint64(cfg.Capacity)
		opts.Weigher = func(_ K, v V) uint32 { return w(v) }
	} else {
		opts.MaximumSize = int(cfg.Capacity)
	}
	if cfg.Sync {
		opts.Executor = func(fn func()) { fn() }
	}
	if ttl := cfg.TTL; ttl != nil {
		opts.ExpiryCalculator = otterv2.ExpiryWritingFunc(func(e otterv2.Entry[K, V]) time.Duration { return ttl(e.Value) })
	}
	if cfg.Clock != nil {
		opts.Clock = otterClock(cfg.Clock)
	}
	c, err := otterv2.New(opts)
	if err != nil {
		return nil, err
	}
	if cfg.Weigher != nil {
		return otter2Weighted[K, V]{otter2[K, V]{c}}, nil
	}
	return otter2[K, V]{c}, nil
}

func (o otter2[K, V]) Name() string      { return OtterV2 }
func (o otter2[K, V]) Get(k K) (V, bool) { return o.c.GetIfPresent(k) }
func (o otter2[K, V]) Set(k K, v V) bool { o.c.Set(k, v); return true }
func (o otter2[K, V]) Len() int          { return o.c.EstimatedSize() }
func (o otter2[K, V]) Close()            { o.c.StopAllGoroutines() }

func (o otter2[K, V]) HeldWeight() int64 { return -1 }

func (o otter2Weighted[K, V]) HeldWeight() int64 { return int64(o.c.WeightedSize()) }

// otterClock is a Config.Clock as otter v2's Clock, without ticks: the
// cache then does without its periodic clean-ups, and expires entries as
// its maintenance (run after writes) meets them on its timer wheel.
type otterClock func() int64

func (f otterClock) NowNano() int64                      { return f() }
func (f otterClock) Tick(time.Duration) <-chan time.Time { return nil }

// otter v1: S3-FIFO. One word, as otter2 (otterv1.Cache holds one
// pointer); built with a Weigher, otter1Weighted.
type otter1[K Key, V any] struct{ c otterv1.Cache[K, V] }

// otter1Weighted is otter1 with the weights it sums in HeldWeight.
type otter1Weighted[K Key, V any] struct {
	otter1[K, V]
	cost func(V) uint32
}

func newOtterV1[K Key, V any](cfg Config[V]) (Cache[K, V], error) {
	b, err := otterv1.NewBuilder[K, V](int(cfg.Capacity))
	if err != nil {
		return nil, err
	}
	if w := cfg.Weigher; w != nil {
		b = b.Cost(func(_ K, v V) uint32 { return w(v) })
	}
	c, err := b.Build()
	if err != nil {
		return nil, err
	}
	if cfg.Weigher != nil {
		return otter1Weighted[K, V]{otter1[K, V]{c}, cfg.Weigher}, nil
	}
	return otter1[K, V]{c}, nil
}

func (o otter1[K, V]) Name() string      { return OtterV1 }
func (o otter1[K, V]) Get(k K) (V, bool) { return o.c.Get(k) }
func (o otter1[K, V]) Set(k K, v V) bool { return o.c.Set(k, v) }
func (o otter1[K, V]) Len() int          { return o.c.Size() }
func (o otter1[K, V]) Close()            { o.c.Close() }

func (o otter1[K, V]) HeldWeight() int64 { return -1 }

// HeldWeight sums the weights of the entries: otter v1 does not report
// the cost it holds.
func (o otter1Weighted[K, V]) HeldWeight() int64 {
	var w int64
	o.c.Range(func(_ K, v V) bool {
		w += int64(o.cost(v))
		return true
	})
	return w
}
