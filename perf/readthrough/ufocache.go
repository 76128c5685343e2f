package readthrough

import (
	"context"

	"github.com/ufocache/ufocache"
)

// ufocache: RTCache over a Cache; the loader returns the value and its TTL.
type ufo struct {
	rt *ufocache.RTCache[uint64, uint64]
}

func newUfocache(cfg Config, load Loader) (Cache, error) {
	opts := ufocache.Options[uint64, uint64]{MaxWeight: int64(cfg.Capacity), DefaultTTL: cfg.TTL}
	c, err := ufocache.New(opts)
	if err != nil {
		return nil, err
	}
	rt, err := ufocache.NewRTCache(c, ufocache.Loader[uint64, uint64](load), ufocache.RTOptions[uint64, uint64]{})
	if err != nil {
		return nil, err
	}
	return &ufo{rt}, nil
}

func (u *ufo) Name() string { return Ufocache }
func (u *ufo) Close()       {}

func (u *ufo) Get(ctx context.Context, k uint64) (uint64, error) {
	v, _, err := u.rt.Get(ctx, k)
	return v, err
}
