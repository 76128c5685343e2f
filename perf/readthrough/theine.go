package readthrough

import (
	"context"

	theinego "github.com/Yiling-J/theine-go"
)

// theine: a loading cache; the loader runs under the key's shard lock.
type theine struct {
	c *theinego.LoadingCache[uint64, uint64]
}

func newTheine(cfg Config, load Loader) (Cache, error) {
	c, err := theinego.NewBuilder[uint64, uint64](int64(cfg.Capacity)).
		Loading(func(ctx context.Context, k uint64) (theinego.Loaded[uint64], error) {
			v, ttl, err := load(ctx, k)
			if ttl == 0 {
				ttl = cfg.TTL
			}
			return theinego.Loaded[uint64]{Value: v, Cost: 1, TTL: ttl}, err
		}).Build()
	if err != nil {
		return nil, err
	}
	return &theine{c}, nil
}

func (t *theine) Name() string { return Theine }
func (t *theine) Close()       { t.c.Close() }

func (t *theine) Get(ctx context.Context, k uint64) (uint64, error) {
	return t.c.Get(ctx, k)
}
