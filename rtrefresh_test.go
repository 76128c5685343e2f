package ufocache_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ufocache/ufocache"
)

// gatedOrigin is a Loader whose loads of each key return "<key>#<n>" (n
// counts that key's loads) once the test releases them, or fail with
// fail's error while it is set.
type gatedOrigin struct {
	mu      sync.Mutex
	loads   map[string]int
	release chan struct{}
	fail    error
}

func newGatedOrigin() *gatedOrigin {
	return &gatedOrigin{loads: map[string]int{}, release: make(chan struct{})}
}

func (o *gatedOrigin) load(_ context.Context, k string) (string, time.Duration, error) {
	<-o.release
	o.mu.Lock()
	defer o.mu.Unlock()
	o.loads[k]++
	if o.fail != nil {
		return "", 0, o.fail
	}
	return k + "#" + string(rune('0'+o.loads[k])), time.Hour, nil
}

func (o *gatedOrigin) count(k string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.loads[k]
}

// refreshing returns an RTCache over a gatedOrigin whose key k holds
// "old" for an hour, with a Refresh of k started and waiting for the
// origin's release. Call it inside a synctest bubble.
func refreshing(t *testing.T) (*gatedOrigin, *ufocache.RTCache[string, string], context.Context) {
	t.Helper()
	o := newGatedOrigin()
	rt := newRTLoading(t, o.load, ufocache.RTOptions[string, string]{})
	ctx := context.Background()
	rt.Set("k", "old", time.Hour)
	if !rt.Refresh(ctx, "k") {
		t.Fatal("Refresh of a live value started no load")
	}
	synctest.Wait() // the load waits for its release
	return o, rt, ctx
}

// Refresh of a live value loads it again in the background, where a
// Refresh-ahead's recheck would find the value fresh and load nothing:
// lookups get the old value as Hits until the load stores the new one.
func TestRTRefreshReloadsALiveValue(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o, rt, ctx := refreshing(t)
		if v, st, err := rt.Get(ctx, "k"); v != "old" || st != ufocache.Hit || err != nil {
			t.Errorf("Get during the refresh = %q, %v, %v; want old, Hit", v, st, err)
		}
		if rt.Refresh(ctx, "k") {
			t.Error("a second Refresh started a load beside the one in flight")
		}
		close(o.release)
		synctest.Wait()
		if v, st, err := rt.Get(ctx, "k"); v != "k#1" || st != ufocache.Hit || err != nil {
			t.Errorf("Get after the refresh = %q, %v, %v; want k#1, Hit", v, st, err)
		}
		if n := o.count("k"); n != 1 {
			t.Errorf("%d loads, want 1", n)
		}
		if st := rt.Stats(); st.Refreshes != 1 || st.Loads != 1 {
			t.Errorf("stats %+v, want 1 Refresh, 1 Load", st)
		}
	})
}

// Refresh of a key with no value starts its load, which lookups join; a
// failed refresh leaves the old value and keeps its error as ErrorTTL
// says, and that error holds off the next Refresh until it expires.
func TestRTRefreshOfAnAbsentKeyAndAFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o := newGatedOrigin()
		rt := newRTLoading(t, o.load, ufocache.RTOptions[string, string]{ErrorTTL: time.Minute})
		ctx := context.Background()
		if !rt.Refresh(ctx, "new") {
			t.Fatal("Refresh of an absent key started no load")
		}
		var v string
		var st ufocache.Status
		done := make(chan struct{})
		go func() {
			defer close(done)
			v, st, _ = rt.Get(ctx, "new")
		}()
		synctest.Wait()
		close(o.release)
		<-done
		if v != "new#1" || st != ufocache.LockHit {
			t.Errorf("Get during the refresh of an absent key = %q, %v; want new#1, LockHit", v, st)
		}

		rt.Set("k", "old", time.Hour)
		o.mu.Lock()
		o.fail = errors.New("origin down")
		o.mu.Unlock()
		if !rt.Refresh(ctx, "k") {
			t.Fatal("Refresh started no load")
		}
		synctest.Wait()
		if v, st, err := rt.Get(ctx, "k"); v != "old" || st != ufocache.Hit || err != nil {
			t.Errorf("Get after a failed refresh = %q, %v, %v; want the old value kept", v, st, err)
		}
		if rt.Refresh(ctx, "k") {
			t.Error("Refresh started a load while the last one's error is kept")
		}
		time.Sleep(time.Minute)
		if !rt.Refresh(ctx, "k") {
			t.Error("Refresh started no load once the kept error expired")
		}
		synctest.Wait()
		if n := o.count("k"); n != 2 {
			t.Errorf("%d loads of k, want 2", n)
		}
	})
}

// Refresh takes a place of MaxRefreshes, and starts nothing once Close
// has begun.
func TestRTRefreshHoldsAPlaceAndStopsAtClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o := newGatedOrigin()
		rt := newRTLoading(t, o.load, ufocache.RTOptions[string, string]{MaxRefreshes: 1})
		ctx := context.Background()
		if !rt.Refresh(ctx, "a") {
			t.Fatal("Refresh started no load")
		}
		if rt.Refresh(ctx, "b") {
			t.Error("a second key's Refresh started past MaxRefreshes 1")
		}
		close(o.release)
		synctest.Wait()
		if err := rt.Close(ctx); err != nil {
			t.Fatal(err)
		}
		if rt.Refresh(ctx, "b") {
			t.Error("Refresh started a load after Close")
		}
		if o.count("b") != 0 || o.count("a") != 1 {
			t.Errorf("loads a %d, b %d; want 1, 0", o.count("a"), o.count("b"))
		}
	})
}

// A write of k while its refresh runs detaches the refresh: the write
// stays.
func TestRTRefreshLosesToAWrite(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o, rt, ctx := refreshing(t)
		rt.Set("k", "written", time.Hour)
		close(o.release)
		synctest.Wait()
		if v, _, _ := rt.Get(ctx, "k"); v != "written" {
			t.Errorf("Get = %q, want the write over the refresh", v)
		}
	})
}
