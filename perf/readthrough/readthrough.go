// Package readthrough puts the read-through (loading) caches behind one
// interface for the stampede suite: ufocache's RTCache, otter v2's loader
// Get, theine's loading cache, and singleflight over golang-lru.
package readthrough

import (
	"context"
	"fmt"
	"time"
)

// Loader fetches a key from the origin: its value and TTL (0: the cache's
// default). Caches whose TTL is fixed at construction ignore the returned
// TTL and use Config.TTL.
type Loader func(ctx context.Context, key uint64) (uint64, time.Duration, error)

// Cache is a read-through cache: Get returns the cached value or loads it,
// sharing one load among concurrent callers of a missing key.
type Cache interface {
	Name() string
	Get(ctx context.Context, key uint64) (uint64, error)
	Close()
}

// Config sizes a cache.
type Config struct {
	Capacity int
	// TTL of every entry, for the caches that take it at construction
	// (otter v2, golang-lru/expirable). 0: no expiry.
	TTL time.Duration
}

// Names of the read-through caches.
const (
	Ufocache     = "ufocache"
	OtterV2      = "otter-v2"
	Theine       = "theine"
	Singleflight = "singleflight+golang-lru"
)

// Names lists every read-through cache, ufocache first.
var Names = []string{Ufocache, OtterV2, Theine, Singleflight}

// New builds the named cache over load.
func New(name string, cfg Config, load Loader) (Cache, error) {
	if cfg.Capacity <= 0 {
		return nil, fmt.Errorf("readthrough: %s: capacity must be > 0", name)
	}
	switch name {
	case Ufocache:
		return newUfocache(cfg, load)
	case OtterV2:
		return newOtterV2(cfg, load)
	case Theine:
		return newTheine(cfg, load)
	case Singleflight:
		return newSingleflight(cfg, load), nil
	}
	return nil, fmt.Errorf("readthrough: unknown cache %q (known: %v)", name, Names)
}
