package readthrough

import (
	"context"
	"strconv"

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
}

func newSingleflight(cfg Config, load Loader) Cache {
	return &sfLRU{c: expirable.NewLRU[uint64, uint64](cfg.Capacity, nil, cfg.TTL), load: load}
}

func (s *sfLRU) Name() string { return Singleflight }
func (s *sfLRU) Close()       {}

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
