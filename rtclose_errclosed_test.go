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

// A load started before Close whose Loader fails with ErrClosed (it asked
// another RTCache, itself closed at shutdown) is a load all the same:
// its joiners waited for it and get LockHit, counted in LockHits, as
// Close's doc promises ("lookups that join a load in flight go on as
// before"). The RTCache told a refused lookup from a joiner by the error
// alone (ErrClosed, not leader, and closed), so such a joiner got the
// Status its lookup found and counted nowhere, and a repeat of the key in
// a MultiGet likewise.
func TestRTCloseCountsTheJoinersOfALoadThatFailedWithErrClosed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		inner := newRTLoading(t, func(context.Context, string) (string, time.Duration, error) {
			return "inner", time.Hour, nil
		}, ufocache.RTOptions[string, string]{})
		if err := inner.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
		release := make(chan struct{})
		rt := newRTLoading(t, func(ctx context.Context, k string) (string, time.Duration, error) {
			<-release
			v, _, err := inner.Get(ctx, k) // ErrClosed: inner is closed
			return v, time.Hour, err
		}, ufocache.RTOptions[string, string]{}, ufocache.Options[string, string]{MaxWeight: 100, Clock: newBubbleClock(), RecordStats: true})
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		type answer struct {
			st  ufocache.Status
			err error
		}
		leader, joiner := make(chan answer, 1), make(chan answer, 1)
		go func() { _, st, err := rt.Get(ctx, "a"); leader <- answer{st, err} }()
		synctest.Wait()
		go func() { _, st, err := rt.Get(ctx, "a"); joiner <- answer{st, err} }()
		multi := make(chan []ufocache.RTResult[string], 1)
		go func() { res, _ := rt.MultiGet(ctx, []string{"b", "b"}); multi <- res }()
		synctest.Wait()
		closeReleasing(t, rt, release)
		l, j := <-leader, <-joiner
		if l.st != ufocache.Miss || !errors.Is(l.err, ufocache.ErrClosed) {
			t.Errorf("the leader got %v, %v", l.st, l.err)
		}
		if j.st != ufocache.LockHit || !errors.Is(j.err, ufocache.ErrClosed) {
			t.Errorf("the joiner of the load got %v, %v; want LockHit and the Loader's error", j.st, j.err)
		}
		if res := <-multi; res[0].Status != ufocache.Miss || res[1].Status != ufocache.LockHit || !errors.Is(res[1].Err, ufocache.ErrClosed) {
			t.Errorf("MultiGet of a key twice: %+v; want Miss, then LockHit with the Loader's error", res)
		}
		if s := rt.Stats(); s.Loads != 2 || s.Misses != 2 || s.LockHits != 2 {
			t.Errorf("stats: Loads %d, Misses %d, LockHits %d; want 2, 2, 2", s.Loads, s.Misses, s.LockHits)
		}
	})
}

// A load past LockAge no longer holds its key, but its value is still
// stored when it comes (RTOptions.LockAge), and Close returns once "its
// values are stored". After Close the load holds its key again: a lookup
// of the key joins it (a LockHit with its value). It used to claim the
// key with a new call, turned away at once, which left the wait map
// taking the old load's line with it: the old load's value, the only one
// loaded, was dropped.
func TestRTCloseKeepsTheValueOfALoadPastLockAge(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		rt := newRTLoading(t, func(_ context.Context, k string) (string, time.Duration, error) {
			<-release
			return "v" + k, time.Hour, nil
		}, ufocache.RTOptions[string, string]{LockAge: time.Second})
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		got := make(chan string, 2)
		go func() { v, _, _ := rt.Get(ctx, "a"); got <- v }()
		time.Sleep(2 * time.Second) // the load is past LockAge
		wait, _ := closeRT(rt, context.Background())
		synctest.Wait()
		go func() {
			v, st, err := rt.Get(ctx, "a")
			got <- fmt.Sprint(v, " ", st, " ", err)
		}()
		synctest.Wait()
		close(release)
		if err := wait(); err != nil {
			t.Fatal(err)
		}
		if a, b := <-got, <-got; !(a == "va" && b == "va lock-hit <nil>" || b == "va" && a == "va lock-hit <nil>") {
			t.Fatalf("want the load's caller to get %q and the lookup after Close %q: got %q and %q", "va", "va lock-hit <nil>", a, b)
		}
		if v, ok := rt.Cache().Get("a"); !ok || v != "va" {
			t.Errorf("after Close the load's value is not stored: %q, %v", v, ok)
		}
	})
}

// A Loader's own ErrClosed (from another RTCache, closed) is its load's
// error like any: with this RTCache open, a joiner of the load is a
// LockHit; with it closed meanwhile, the load's leader is a Miss. Only a
// lookup turned away by this RTCache's Close counts nowhere (refused
// needs all three: not the leader, ErrClosed, and Close called).
func TestRTALoaderErrClosedIsALoadsError(t *testing.T) {
	for _, closeIt := range []bool{false, true} {
		t.Run(map[bool]string{false: "open", true: "closed"}[closeIt], func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				release := make(chan struct{})
				rt := newRTLoading(t, func(context.Context, string) (string, time.Duration, error) {
					<-release
					return "", 0, ufocache.ErrClosed
				}, ufocache.RTOptions[string, string]{}, ufocache.Options[string, string]{MaxWeight: 100, Clock: newBubbleClock(), RecordStats: true})
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				sts := make(chan ufocache.Status, 2)
				go func() { _, st, _ := rt.Get(ctx, "a"); sts <- st }()
				synctest.Wait()
				joiners := 0
				if closeIt {
					wait, _ := closeRT(rt, context.Background())
					synctest.Wait()
					close(release)
					if err := wait(); err != nil {
						t.Fatal(err)
					}
				} else {
					joiners = 1
					go func() { _, st, _ := rt.Get(ctx, "a"); sts <- st }()
					synctest.Wait()
					close(release)
				}
				synctest.Wait()
				want := map[ufocache.Status]int{ufocache.Miss: 1, ufocache.LockHit: joiners}
				got := map[ufocache.Status]int{ufocache.Miss: 0, ufocache.LockHit: 0}
				for range 1 + joiners {
					got[<-sts]++
				}
				if got[ufocache.Miss] != want[ufocache.Miss] || got[ufocache.LockHit] != want[ufocache.LockHit] {
					t.Errorf("statuses %v, want %v", got, want)
				}
				if s := rt.Stats(); s.Misses != 1 || s.LockHits != uint64(joiners) {
					t.Errorf("stats: Misses %d, LockHits %d; want 1, %d", s.Misses, s.LockHits, joiners)
				}
			})
		})
	}
}

// The same for a BatchLoader: a batch started before Close that fails
// with ErrClosed, as a whole or for one key, failed as a load: a Get that
// joined one of its keys is a LockHit, and a repeat in the MultiGet too.
func TestRTCloseCountsTheJoinersOfABatchThatFailedWithErrClosed(t *testing.T) {
	for _, whole := range []bool{true, false} {
		t.Run(map[bool]string{true: "whole batch", false: "one key"}[whole], func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				release := make(chan struct{})
				rt := newRTLoading(t, func(context.Context, string) (string, time.Duration, error) {
					return "", 0, errors.New("no single loads here")
				}, ufocache.RTOptions[string, string]{BatchLoader: func(_ context.Context, keys []string) ([]ufocache.Loaded[string], error) {
					<-release
					if whole {
						return nil, ufocache.ErrClosed // an inner RTCache's, closed
					}
					res := make([]ufocache.Loaded[string], len(keys))
					for i := range res {
						res[i].Err = ufocache.ErrClosed
					}
					return res, nil
				}}, ufocache.Options[string, string]{MaxWeight: 100, Clock: newBubbleClock(), RecordStats: true})
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				multi := make(chan []ufocache.RTResult[string], 1)
				go func() { res, _ := rt.MultiGet(ctx, []string{"a", "b", "a"}); multi <- res }()
				synctest.Wait()
				joiner := make(chan ufocache.Status, 1)
				go func() { _, st, _ := rt.Get(ctx, "b"); joiner <- st }()
				synctest.Wait()
				closeReleasing(t, rt, release)
				res := <-multi
				if res[0].Status != ufocache.Miss || res[1].Status != ufocache.Miss || res[2].Status != ufocache.LockHit || !errors.Is(res[2].Err, ufocache.ErrClosed) {
					t.Errorf("MultiGet: %+v; want Miss, Miss, then LockHit with the BatchLoader's error", res)
				}
				if st := <-joiner; st != ufocache.LockHit {
					t.Errorf("the Get that joined the batch: %v, want LockHit", st)
				}
				if s := rt.Stats(); s.Loads != 2 || s.Misses != 2 || s.LockHits != 2 {
					t.Errorf("stats: Loads %d, Misses %d, LockHits %d; want 2, 2, 2", s.Loads, s.Misses, s.LockHits)
				}
			})
		})
	}
}

// closeReleasing begins Close of rt, lets the loads in flight go on once
// Close waits for them (closing release), and fails t unless Close then
// returns nil.
func closeReleasing(t *testing.T, rt *ufocache.RTCache[string, string], release chan struct{}) {
	t.Helper()
	wait, _ := closeRT(rt, context.Background())
	synctest.Wait()
	close(release)
	if err := wait(); err != nil {
		t.Fatal(err)
	}
}
