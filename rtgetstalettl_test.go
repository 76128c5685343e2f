package ufocache_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ufocache/ufocache"
)

// GetStale and GetStaleWhileUpdate report the TTL GetWithTTL would: a
// hit's time left, a loaded value's TTL from its Loader's return, a
// failed load's cached error's time left, and 0 for a stale value. (A
// resolver answering from GetStale read the TTL again with
// Cache.GetWithTTL: a second lookup, counted twice, which could see a
// newer value than the one it answered with.)
func TestRTGetStaleReportsTheTTL(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		failing := map[string]bool{}
		var rt *ufocache.RTCache[string, string]
		load := func(_ context.Context, k string) (string, time.Duration, error) {
			if k == "gone" {
				rt.Cache().Delete(k) // the stale value leaves while the load runs
				return "", 0, errors.New("origin down")
			}
			if failing[k] {
				return "", 0, errors.New("origin down")
			}
			return "new " + k, 20 * time.Second, nil
		}
		rt = newRTLoading(t, load, ufocache.RTOptions[string, string]{ErrorTTL: 5 * time.Second},
			ufocache.Options[string, string]{MaxWeight: 100, Clock: newBubbleClock(), KeepExpired: time.Hour})
		ctx := context.Background()
		rt.Set("hit", "h", time.Hour)
		for _, k := range []string{"exp-ok", "exp-fail", "old-fail", "gone"} {
			rt.Set(k, "old "+k, time.Minute)
		}
		failing["exp-fail"], failing["old-fail"], failing["miss-fail"] = true, true, true
		time.Sleep(10 * time.Minute) // hit has 50m left; the others expired 9m ago

		type got struct {
			v   string
			ss  ufocache.StaleStatus
			err bool
		}
		for _, tc := range []struct {
			name string
			call func() (string, ufocache.StaleStatus, error)
			want got
		}{
			{"hit", func() (string, ufocache.StaleStatus, error) { return rt.GetStale(ctx, "hit", time.Hour) },
				got{"h", ufocache.StaleStatus{Status: ufocache.Hit, TTL: 50 * time.Minute}, false}},
			{"miss", func() (string, ufocache.StaleStatus, error) { return rt.GetStale(ctx, "miss", time.Hour) },
				got{"new miss", ufocache.StaleStatus{Status: ufocache.Miss, TTL: 20 * time.Second}, false}},
			{"expired, loaded", func() (string, ufocache.StaleStatus, error) { return rt.GetStale(ctx, "exp-ok", time.Hour) },
				got{"new exp-ok", ufocache.StaleStatus{Status: ufocache.Expired, TTL: 20 * time.Second}, false}},
			{"expired, load failed: stale", func() (string, ufocache.StaleStatus, error) { return rt.GetStale(ctx, "exp-fail", time.Hour) },
				got{"old exp-fail", ufocache.StaleStatus{Status: ufocache.Stale, StaleFor: 9 * time.Minute}, false}},
			{"too old to serve, load failed", func() (string, ufocache.StaleStatus, error) { return rt.GetStale(ctx, "old-fail", time.Minute) },
				got{"", ufocache.StaleStatus{Status: ufocache.Expired, TTL: 5 * time.Second}, true}},
			{"expired, load failed, stale value gone", func() (string, ufocache.StaleStatus, error) { return rt.GetStale(ctx, "gone", time.Hour) },
				got{"", ufocache.StaleStatus{Status: ufocache.Expired, TTL: 5 * time.Second}, true}},
			{"miss, load failed", func() (string, ufocache.StaleStatus, error) { return rt.GetStale(ctx, "miss-fail", time.Hour) },
				got{"", ufocache.StaleStatus{Status: ufocache.Miss, TTL: 5 * time.Second}, true}},
			{"cached error", func() (string, ufocache.StaleStatus, error) { return rt.GetStale(ctx, "miss-fail", time.Hour) },
				got{"", ufocache.StaleStatus{Status: ufocache.Hit, TTL: 5 * time.Second}, true}},
			{"while update: hit", func() (string, ufocache.StaleStatus, error) { return rt.GetStaleWhileUpdate(ctx, "hit", time.Hour) },
				got{"h", ufocache.StaleStatus{Status: ufocache.Hit, TTL: 50 * time.Minute}, false}},
			{"while update: stale", func() (string, ufocache.StaleStatus, error) {
				rt.Set("swu", "old swu", time.Second)
				time.Sleep(2 * time.Second)
				return rt.GetStaleWhileUpdate(ctx, "swu", time.Hour)
			}, got{"old swu", ufocache.StaleStatus{Status: ufocache.Stale, StaleFor: time.Second}, false}},
			{"while update: miss", func() (string, ufocache.StaleStatus, error) { return rt.GetStaleWhileUpdate(ctx, "miss2", time.Hour) },
				got{"new miss2", ufocache.StaleStatus{Status: ufocache.Miss, TTL: 20 * time.Second}, false}},
		} {
			v, ss, err := tc.call()
			if g := (got{v, ss, err != nil}); g != tc.want {
				t.Errorf("%s: got %+v, want %+v (err %v)", tc.name, g, tc.want, err)
			}
			synctest.Wait() // a refresh GetStaleWhileUpdate started
		}
	})
}

// A StaleStatus printed shows its duration: Status's String, promoted from
// the embedded field, used to print "stale" alone (a user's log lost how
// stale the answer it served was).
func TestStaleStatusStringShowsItsDuration(t *testing.T) {
	for st, want := range map[ufocache.StaleStatus]string{
		{Status: ufocache.Stale, StaleFor: 3 * time.Second}: "stale (for 3s)",
		{Status: ufocache.Hit, TTL: time.Minute}:            "hit (ttl 1m0s)",
		{Status: ufocache.LockHit}:                          "lock-hit (ttl 0s)",
	} {
		if got := fmt.Sprint(st); got != want {
			t.Errorf("fmt.Sprint(%#v) = %q, want %q", st, got, want)
		}
	}
}
