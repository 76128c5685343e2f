package ufocache_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ufocache/ufocache"
)

// DeleteFunc purges a tenant's keys, the expired ones kept for stale
// reads included (a purge that walks All leaves those to GetStale), and
// leaves a value set while it ran (here by del itself, which runs with
// no lock held), which del was not shown.
func TestDeleteFuncPurgesStaleEntriesAndKeepsNewerValues(t *testing.T) {
	clk := &fakeClock{}
	clk.t.Store(1)
	var heard []string
	c := ufocache.Must(ufocache.Options[string, string]{MaxWeight: 100, Shards: 1, Clock: clk, KeepExpired: time.Hour,
		OnEvict: func(k, v string, r ufocache.EvictReason) { heard = append(heard, fmt.Sprint(k, "=", v, " ", r)) }})
	c.SetWithTTL("a/1", "old", time.Second)
	c.Set("a/2", "x")
	c.Set("b/1", "y")
	clk.Advance(2 * time.Second) // a/1 expired, kept for stale reads
	for k := range c.All() {
		if k == "a/1" {
			t.Fatal("All visited an expired entry")
		}
	}
	n := c.DeleteFunc(func(k, v string) bool {
		if k == "a/2" {
			c.Set(k, "newer") // a write while DeleteFunc runs: it stays
		}
		return strings.HasPrefix(k, "a/")
	})
	if n != 1 {
		t.Errorf("DeleteFunc removed %d, want 1 (a/1; a/2 was set again meanwhile)", n)
	}
	if _, _, ok := c.GetStale("a/1"); ok {
		t.Error("GetStale still serves a/1 after the purge")
	}
	if v, ok := c.Get("a/2"); v != "newer" || !ok {
		t.Errorf("Get(a/2) = %q, %v; want the value set during the purge", v, ok)
	}
	if v, ok := c.Get("b/1"); v != "y" || !ok {
		t.Errorf("Get(b/1) = %q, %v; want it kept", v, ok)
	}
	want := []string{"a/2=x replaced", "a/1=old deleted"}
	if fmt.Sprint(heard) != fmt.Sprint(want) {
		t.Errorf("OnEvict heard %q, want %q", heard, want)
	}
}

// A panic in del reaches the caller; what DeleteFunc removed before it
// stays removed, and OnEvict heard of it.
func TestDeleteFuncPanic(t *testing.T) {
	var heard []int
	c := ufocache.Must(ufocache.Options[int, int]{MaxWeight: 1000, Shards: 1,
		OnEvict: func(k, _ int, _ ufocache.EvictReason) { heard = append(heard, k) }})
	for k := range 200 {
		c.Set(k, k)
	}
	seen := 0
	func() {
		defer func() {
			if r := recover(); r != "del" {
				t.Errorf("DeleteFunc panicked with %v, want del's panic", r)
			}
		}()
		c.DeleteFunc(func(int, int) bool {
			if seen++; seen == 150 {
				panic("del")
			}
			return true
		})
	}()
	if removed := 200 - c.Len(); removed != len(heard) || removed < 64 || removed >= 150 {
		t.Errorf("%d removed, OnEvict heard %d; want the batches before the panic, heard", removed, len(heard))
	}
	if err := ufocache.CheckInvariantsOf(c); err != nil {
		t.Fatal(err)
	}
}

// Purging one tenant's keys by prefix.
func ExampleCache_DeleteFunc() {
	c := ufocache.Must(ufocache.Options[string, string]{MaxWeight: 1000})
	c.Set("tenant-a/home", "...")
	c.Set("tenant-a/about", "...")
	c.Set("tenant-b/home", "...")
	n := c.DeleteFunc(func(k, _ string) bool { return strings.HasPrefix(k, "tenant-a/") })
	fmt.Println(n, c.Len())
	// Output: 2 1
}
