package ufocache

import (
	"time"

	"github.com/ufocache/ufocache/shard"
)

// Internals of Cache that RTCache needs and the public API does not give:
// writes whose OnEvict callbacks the caller runs later (RTCache writes
// while it holds a lock of the wait map, and a callback that calls the
// RTCache must not run under it), and a read that reports the entry's
// expiry. Each mirrors the method of cache.go named in its comment.

// expireCollect makes k's entry expire now, keeping its value for stale
// reads. It reports whether k had a value that had not expired. The value
// stays, so nothing is reported to OnEvict (it hears of the value once,
// when it leaves). A clock at 0 cannot express "expired at 0" (0 means
// never), so there the entry is deleted instead, and that is reported
// (only a coarse clock read in the nanosecond the package started).
//
// Without a Clock, it judges and sets the expiry at the exact time, as
// reads judge one near its expiry (nowFor): by the coarse clock, lagging
// behind, it reported a value that Get already found expired as live,
// and set an expiry earlier than the time of the call (1806 of 2000
// Invalidates of values 200 µs past their TTL said live).
func (c *Cache[K, V]) expireCollect(k K, out *[]shard.Evicted[K, V]) bool {
	h := c.hash.Sum(k)
	s := c.shardFor(h)
	now := c.exactNow()
	if now <= 0 {
		e := s.Find(k, h)
		if e == nil || (e.Expires() && now >= e.Expire) {
			return false
		}
		s.Delete(k, h, c.collect(out))
		return true
	}
	return s.Expire(k, h, now, now)
}

// lookup is GetWithStatus that also returns the value of an expired entry
// and the entry's expiry, as left: how long a Hit has to live
// (NoExpiration if it never expires), or minus how long ago an Expired
// entry expired. Counted and touched as GetWithStatus does.
func (c *Cache[K, V]) lookup(k K) (v V, st Status, left time.Duration) {
	return c.read(k, c.hash.Sum(k), true)
}

// recheckRead is lookup for RTCache's recheck, which looks at k again for
// a caller whose lookup already counted: it touches a hit but counts
// nothing, so that one RTCache lookup counts once in Stats. It also
// returns the entry's expiry, which a recheck hands its callers.
func (c *Cache[K, V]) recheckRead(k K) (v V, st Status, left time.Duration, expire int64) {
	return c.readExpiry(k, c.hash.Sum(k), false)
}

// read is lookup (count) or recheckRead of k, whose hash is h. It keeps
// nothing of k.
func (c *Cache[K, V]) read(k K, h uint64, count bool) (v V, st Status, left time.Duration) {
	v, st, left, _ = c.readExpiry(k, h, count)
	return v, st, left
}

// readExpiry is read that also returns the entry's expiry (0: never), as
// expiry gives it: for a caller that reports the time left later, at
// another reading of the clock (leftAt).
func (c *Cache[K, V]) readExpiry(k K, h uint64, count bool) (v V, st Status, left time.Duration, expire int64) {
	e := c.shardFor(h).Find(k, h)
	if e == nil {
		if count && c.misses != nil {
			c.misses.Inc()
		}
		return v, Miss, 0, 0
	}
	if !e.Expires() {
		left = NoExpiration
	} else {
		left = time.Duration(e.Expire - c.nowFor(e.Expire))
	}
	if left <= 0 {
		if count && c.misses != nil {
			c.misses.Inc()
		}
		return e.Val, Expired, left, e.Expire
	}
	e.Touch()
	if count && c.hits != nil {
		c.hits.Inc()
	}
	return e.Val, Hit, left, e.Expire
}

// leftExact is leftAt read on the exact clock (exactNow), for the time a
// value or error a load just gave has left, which RTCache reports once per
// load: the coarse clock lags the exact time the expiry was counted from
// by up to a tick, or more while its goroutine waits to be scheduled, and
// read from it the report was that much over (a resolver rounding up sent
// 301 for an origin's 300; a load's error kept for 60 ms was reported with
// up to 66.8 ms left under -race).
func (c *Cache[K, V]) leftExact(expire int64) time.Duration {
	if expire <= 0 {
		return c.leftAt(expire) // never, or already expired: no reading
	}
	return max(time.Duration(expire-c.exactNow()), 0)
}

// judge is DeleteFunc's reading for RTCache: it calls del on each entry,
// expired ones kept for stale reads included, shard by shard and without
// any lock held, and each with the key of every entry del chose.
func (c *Cache[K, V]) judge(del func(k K, v V) bool, each func(k K)) {
	for i := range c.shards {
		for _, e := range c.shards[i].Snapshot() {
			if del(e.Key, e.Val) {
				each(e.Key)
			}
		}
	}
}

// removeCollect removes k's entry, live or expired (reported to OnEvict
// as EvictDeleted), and reports whether it had one.
func (c *Cache[K, V]) removeCollect(k K, out *[]shard.Evicted[K, V]) bool {
	h := c.hash.Sum(k)
	return c.shardFor(h).Delete(k, h, c.collect(out)) != nil
}
