package readthrough

import (
	"context"
	"time"

	otterv2 "github.com/maypok86/otter/v2"
)

// otter v2: Get(ctx, key, loader) coalesces loads per key.
type otter2 struct {
	c      *otterv2.Cache[uint64, uint64]
	clock  *otterv2.CoarseClock // nil without a TTL; stopped by Close
	loader otterv2.LoaderFunc[uint64, uint64]
}

func newOtterV2(cfg Config, load Loader) (Cache, error) {
	opts := &otterv2.Options[uint64, uint64]{MaximumSize: cfg.Capacity}
	var clock *otterv2.CoarseClock
	if cfg.TTL > 0 {
		opts.ExpiryCalculator = otterv2.ExpiryWriting[uint64, uint64](cfg.TTL)
		// A clock read once a millisecond, as ufocache's is, rather than
		// time.Now on every Get (otter's own advice for cheaper reads).
		clock = otterv2.NewCoarseClock(time.Millisecond)
		opts.Clock = clock
	}
	c, err := otterv2.New(opts)
	if err != nil {
		return nil, err
	}
	return &otter2{c: c, clock: clock, loader: func(ctx context.Context, k uint64) (uint64, error) {
		v, _, err := load(ctx, k)
		return v, err
	}}, nil
}

func (o *otter2) Name() string { return OtterV2 }
func (o *otter2) Close() {
	o.c.StopAllGoroutines()
	if o.clock != nil {
		o.clock.Stop()
	}
}

func (o *otter2) Get(ctx context.Context, k uint64) (uint64, error) {
	return o.c.Get(ctx, k, o.loader)
}
