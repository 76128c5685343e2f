package ufocache_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/ufocache/ufocache"
)

// ErrorWithTTL: a Loader's (or BatchLoader's) error kept for a TTL of its
// own: as long as it says, nowhere for a negative one, ErrorTTL for 0,
// until a write for NoExpiration; the callers get the error unwrapped
// (or the Loader's own wrapping of it), and GetWithTTL the time left.
// Without ErrorTTL nothing is kept.
func TestRTErrorWithTTL(t *testing.T) {
	errDown := errors.New("down")
	clk := &fakeClock{}
	clk.t.Store(1)
	ttls := map[string]time.Duration{"short": 5 * time.Second, "none": -1, "default": 0, "forever": ufocache.NoExpiration}
	loads := map[string]int{}
	load := func(_ context.Context, k string) (string, time.Duration, error) {
		loads[k]++
		if k == "wrapped" {
			return "", 0, fmt.Errorf("resolving %s: %w", k, ufocache.ErrorWithTTL(errDown, 3*time.Second))
		}
		return "", time.Hour, ufocache.ErrorWithTTL(errDown, ttls[k]) // the hour is not the error's
	}
	batch := func(_ context.Context, keys []string) ([]ufocache.Loaded[string], error) {
		if keys[0] == "batch-all" {
			return nil, ufocache.ErrorWithTTL(errDown, 9*time.Second)
		}
		out := make([]ufocache.Loaded[string], len(keys))
		for i := range out {
			out[i].Err = ufocache.ErrorWithTTL(errDown, 7*time.Second)
		}
		return out, nil
	}
	newRT := func(errorTTL time.Duration) *ufocache.RTCache[string, string] {
		c := ufocache.Must(ufocache.Options[string, string]{MaxWeight: 100, Clock: clk})
		rt, err := ufocache.NewRTCache(c, load, ufocache.RTOptions[string, string]{ErrorTTL: errorTTL, BatchLoader: batch})
		if err != nil {
			t.Fatal(err)
		}
		return rt
	}
	rt := newRT(time.Minute)
	expect := func(k string, st ufocache.Status, left time.Duration) {
		t.Helper()
		_, got, gotSt, err := rt.GetWithTTL(context.Background(), k)
		if k == "wrapped" {
			if err == nil || err.Error() != "resolving wrapped: down" || !errors.Is(err, errDown) {
				t.Errorf("GetWithTTL(%q): %v, want the Loader's wrapping of %v", k, err, errDown)
			}
		} else if err != errDown {
			t.Errorf("GetWithTTL(%q): %#v, want %v itself, unwrapped", k, err, errDown)
		}
		if got != left || gotSt != st {
			t.Errorf("GetWithTTL(%q) = %v left, %v; want %v, %v", k, got, gotSt, left, st)
		}
	}
	for _, k := range []string{"short", "none", "default", "forever", "wrapped"} {
		left := map[string]time.Duration{"short": 5 * time.Second, "default": time.Minute, "forever": ufocache.NoExpiration, "wrapped": 3 * time.Second}[k]
		expect(k, ufocache.Miss, left)
	}
	if _, err := rt.MultiGet(context.Background(), []string{"batch-all", "b"}); err != errDown {
		t.Fatalf("MultiGet of a failing batch: %v, want %v", err, errDown)
	}
	if _, err := rt.MultiGet(context.Background(), []string{"each"}); err != errDown {
		t.Fatalf("MultiGet of a key that failed: %v, want %v", err, errDown)
	}
	clk.Advance(time.Second)
	expect("short", ufocache.Hit, 4*time.Second)
	expect("none", ufocache.Miss, 0) // kept nowhere: loaded again
	expect("default", ufocache.Hit, time.Minute-time.Second)
	expect("forever", ufocache.Hit, ufocache.NoExpiration)
	expect("wrapped", ufocache.Hit, 2*time.Second)
	expect("batch-all", ufocache.Hit, 8*time.Second)
	expect("b", ufocache.Hit, 8*time.Second)
	expect("each", ufocache.Hit, 6*time.Second)
	clk.Advance(4 * time.Second)
	expect("short", ufocache.Miss, 5*time.Second) // expired: loaded again
	clk.Advance(time.Hour)
	expect("forever", ufocache.Hit, ufocache.NoExpiration)
	rt.Set("forever", "v", 0)
	if v, _, err := rt.Get(context.Background(), "forever"); err != nil || v != "v" {
		t.Errorf("after a Set: %q, %v", v, err)
	}
	if want := map[string]int{"short": 2, "none": 2, "default": 1, "forever": 1, "wrapped": 1}; !mapsEqual(loads, want) {
		t.Errorf("loads %v, want %v", loads, want)
	}

	// Without ErrorTTL no error is kept, whatever its own TTL.
	rt = newRT(0)
	clear(loads)
	expect("short", ufocache.Miss, 0)
	expect("short", ufocache.Miss, 0)
	if loads["short"] != 2 {
		t.Errorf("without ErrorTTL: %d loads, want 2", loads["short"])
	}
	if ufocache.ErrorWithTTL(nil, time.Second) != nil {
		t.Error("ErrorWithTTL(nil) is not nil")
	}
}
