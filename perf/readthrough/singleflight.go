package readthrough

import (
	"context"
	"reflect"
	"strconv"
	"sync"
	"unsafe"

	"github.com/hashicorp/golang-lru/v2/expirable"
	"golang.org/x/sync/singleflight"
)

// sfLRU is what many services write by hand: an LRU with a TTL, and
// singleflight around the load. The cache is checked again inside the
// flight, so a caller that missed just before another caller's flight
// ended does not load a second time.
type sfLRU struct {
	c     *expirable.LRU[uint64, uint64]
	group singleflight.Group
	load  Loader
	stop  func() // ends the LRU's cleanup goroutine
}

func newSingleflight(cfg Config, load Loader) Cache {
	c := expirable.NewLRU[uint64, uint64](cfg.Capacity, nil, cfg.TTL)
	return &sfLRU{c: c, load: load, stop: sync.OnceFunc(func() { close(lruDone(c)) })}
}

// lruDone returns the channel that the expirable LRU's cleanup goroutine
// waits on. golang-lru v2.0.7 starts that goroutine (a ticker at TTL/100)
// for any TTL and has no Close (hashicorp/golang-lru#159), so without this
// it outlived its cell and ticked through every later suite. The field is
// unexported: TestCloseStopsGoroutines fails if a golang-lru update moves it.
func lruDone(c *expirable.LRU[uint64, uint64]) chan struct{} {
	f := reflect.ValueOf(c).Elem().FieldByName("done")
	if !f.IsValid() || f.Type() != reflect.TypeFor[chan struct{}]() {
		panic("readthrough: golang-lru's expirable.LRU has no done channel")
	}
	return *(*chan struct{})(unsafe.Pointer(f.UnsafeAddr()))
}

func (s *sfLRU) Name() string { return Singleflight }
func (s *sfLRU) Close()       { s.stop() }

func (s *sfLRU) Get(ctx context.Context, k uint64) (uint64, error) {
	if v, ok := s.c.Get(k); ok {
		return v, nil
	}
	v, err, _ := s.group.Do(strconv.FormatUint(k, 10), func() (any, error) {
		if v, ok := s.c.Get(k); ok {
			return v, nil
		}
		v, _, err := s.load(ctx, k)
		if err != nil {
			return nil, err
		}
		s.c.Add(k, v)
		return v, nil
	})
	if err != nil {
		return 0, err
	}
	return v.(uint64), nil
}
