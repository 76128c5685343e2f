package ufocache_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ufocache/ufocache"
)

// refreshing returns an RTCache over an origin whose loads wait for its
// gate, with k holding "old" for an hour and a Refresh of k started.
// Call it inside a synctest bubble.
func refreshing(t *testing.T) (*origin, *ufocache.RTCache[string, string], context.Context) {
	t.Helper()
	o := &origin{gate: make(chan struct{})}
	rt := newRT(t, o, ufocache.RTOptions[string, string]{})
	ctx := context.Background()
	rt.Set("k", "old", time.Hour)
	if !rt.Refresh(ctx, "k") {
		t.Fatal("Refresh of a live value started no load")
	}
	synctest.Wait() // the load waits for the gate
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
		close(o.gate)
		synctest.Wait()
		if v, st, err := rt.Get(ctx, "k"); v != "k#1" || st != ufocache.Hit || err != nil {
			t.Errorf("Get after the refresh = %q, %v, %v; want k#1, Hit", v, st, err)
		}
		if n := o.loads.Load(); n != 1 {
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
		o := &origin{gate: make(chan struct{})}
		rt := newRT(t, o, ufocache.RTOptions[string, string]{ErrorTTL: time.Minute})
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
		close(o.gate)
		<-done
		if v != "new#1" || st != ufocache.LockHit {
			t.Errorf("Get during the refresh of an absent key = %q, %v; want new#1, LockHit", v, st)
		}

		rt.Set("k", "old", time.Hour)
		o.set(func(o *origin) { o.err = errors.New("origin down") })
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
		if n := o.loads.Load(); n != 3 {
			t.Errorf("%d loads, want 3 (new's, and two of k)", n)
		}
	})
}

// Refresh takes a place of MaxRefreshes, and starts nothing once Close
// has begun.
func TestRTRefreshHoldsAPlaceAndStopsAtClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o := &origin{gate: make(chan struct{})}
		rt := newRT(t, o, ufocache.RTOptions[string, string]{MaxRefreshes: 1})
		ctx := context.Background()
		if !rt.Refresh(ctx, "a") {
			t.Fatal("Refresh started no load")
		}
		if rt.Refresh(ctx, "b") {
			t.Error("a second key's Refresh started past MaxRefreshes 1")
		}
		close(o.gate)
		synctest.Wait()
		if err := rt.Close(ctx); err != nil {
			t.Fatal(err)
		}
		if rt.Refresh(ctx, "b") {
			t.Error("Refresh started a load after Close")
		}
		if n := o.loads.Load(); n != 1 {
			t.Errorf("%d loads, want 1 (a's; none of b)", n)
		}
	})
}

// A write of k while its refresh runs detaches the refresh: the write
// stays.
func TestRTRefreshLosesToAWrite(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o, rt, ctx := refreshing(t)
		rt.Set("k", "written", time.Hour)
		close(o.gate)
		synctest.Wait()
		if v, _, _ := rt.Get(ctx, "k"); v != "written" {
			t.Errorf("Get = %q, want the write over the refresh", v)
		}
	})
}
