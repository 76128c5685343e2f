package ufocache_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ufocache/ufocache"
)

// A resolver in front of an origin: a hundred concurrent callers of a cold
// name cost one origin lookup, a failed lookup is cached for a few seconds,
// and Delete forces a fresh lookup.
func ExampleNewRTCache() {
	errNXDomain := errors.New("no such host")
	var lookups atomic.Int32
	// The origin; its state reaches the Loader through the closure.
	resolve := func(ctx context.Context, host string) (string, time.Duration, error) {
		lookups.Add(1)
		if host == "nowhere.example" {
			return "", 0, errNXDomain
		}
		return "192.0.2.1", 5 * time.Minute, nil // the address and its TTL
	}
	cache := ufocache.Must(ufocache.Options[string, string]{MaxWeight: 10_000})
	rt, err := ufocache.NewRTCache(cache, resolve, ufocache.RTOptions[string, string]{
		LockTimeout: time.Second,     // a waiter gives up after 1s
		LoadTimeout: 2 * time.Second, // a lookup is abandoned after 2s
		ErrorTTL:    5 * time.Second, // failures are remembered for 5s
	})
	if err != nil {
		panic(err)
	}
	ctx := context.Background()

	var wg sync.WaitGroup
	for range 100 {
		wg.Go(func() { rt.Get(ctx, "example.com") })
	}
	wg.Wait()
	fmt.Println("lookups after 100 callers:", lookups.Load())

	addr, st, err := rt.Get(ctx, "example.com")
	fmt.Println(addr, st, err)

	_, st, err = rt.Get(ctx, "nowhere.example")
	fmt.Println(st, err)
	_, st, err = rt.Get(ctx, "nowhere.example") // the cached error
	fmt.Println(st, err)

	rt.Delete("example.com")
	addr, st, _ = rt.Get(ctx, "example.com")
	fmt.Println(addr, st)
	fmt.Println("lookups:", lookups.Load())
	// Output:
	// lookups after 100 callers: 1
	// 192.0.2.1 hit <nil>
	// miss no such host
	// hit no such host
	// 192.0.2.1 miss
	// lookups: 3
}

// MultiGet serves the hits from the cache and loads the misses in one
// batch; a key the batch fails does not fail the others.
func ExampleRTCache_MultiGet() {
	batch := func(ctx context.Context, ids []int) ([]ufocache.Loaded[string], error) {
		fmt.Println("batch:", ids)
		out := make([]ufocache.Loaded[string], len(ids))
		for i, id := range ids {
			if id < 0 {
				out[i].Err = fmt.Errorf("bad id %d", id)
				continue
			}
			out[i] = ufocache.Loaded[string]{Value: fmt.Sprint("user", id), TTL: time.Minute}
		}
		return out, nil
	}
	one := func(ctx context.Context, id int) (string, time.Duration, error) {
		return fmt.Sprint("user", id), time.Minute, nil
	}
	cache := ufocache.Must(ufocache.Options[int, string]{MaxWeight: 1000})
	rt, err := ufocache.NewRTCache(cache, one, ufocache.RTOptions[int, string]{BatchLoader: batch})
	if err != nil {
		panic(err)
	}
	rt.Set(2, "user2 (cached)", 0)
	res, err := rt.MultiGet(context.Background(), []int{1, 2, -3, 4})
	for _, r := range res {
		fmt.Printf("%q %v %v\n", r.Value, r.Status, r.Err)
	}
	fmt.Println("first error:", err)
	// Output:
	// batch: [1 -3 4]
	// "user1" miss <nil>
	// "user2 (cached)" hit <nil>
	// "" miss bad id -3
	// "user4" miss <nil>
	// first error: bad id -3
}

// A resolver answers with the time its record has left, whether it came
// from the cache or from the origin just now.
func ExampleRTCache_GetWithTTL() {
	clk := &exampleClock{}
	c := ufocache.Must(ufocache.Options[string, string]{MaxWeight: 10_000, Clock: clk})
	rt, err := ufocache.NewRTCache(c, func(_ context.Context, q string) (string, time.Duration, error) {
		return "93.184.215.14", 300 * time.Second, nil // the answer and its TTL from upstream
	}, ufocache.RTOptions[string, string]{})
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	ip, ttl, st, _ := rt.GetWithTTL(ctx, "example.com. A")
	fmt.Println(ip, "ttl", int(ttl.Seconds()), st)
	clk.now += int64(42 * time.Second)
	ip, ttl, st, _ = rt.GetWithTTL(ctx, "example.com. A")
	fmt.Println(ip, "ttl", int(ttl.Seconds()), st)
	// Output:
	// 93.184.215.14 ttl 300 miss
	// 93.184.215.14 ttl 258 hit
}

// A proxy whose origin answers 503 with Retry-After: 30 keeps that failure
// for 30 seconds (not the ErrorTTL of its other failures), and tells its
// own clients how long is left.
func ExampleErrorWithTTL() {
	clk := &exampleClock{}
	errUnavailable := errors.New("origin: 503 Service Unavailable")
	c := ufocache.Must(ufocache.Options[string, string]{MaxWeight: 10_000, Clock: clk})
	rt, err := ufocache.NewRTCache(c, func(_ context.Context, path string) (string, time.Duration, error) {
		return "", 0, ufocache.ErrorWithTTL(errUnavailable, 30*time.Second) // from the Retry-After header
	}, ufocache.RTOptions[string, string]{ErrorTTL: 5 * time.Second})
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	_, retryAfter, st, err := rt.GetWithTTL(ctx, "/index.html")
	fmt.Println(err, "| retry after", int(retryAfter.Seconds()), st)
	clk.now += int64(12 * time.Second)
	_, retryAfter, st, err = rt.GetWithTTL(ctx, "/index.html") // the origin is not asked
	fmt.Println(err, "| retry after", int(retryAfter.Seconds()), st)
	// Output:
	// origin: 503 Service Unavailable | retry after 30 miss
	// origin: 503 Service Unavailable | retry after 18 hit
}

// A server's shutdown: Close waits for the origin calls in flight (here
// one that takes 50ms), which their callers still get, and turns away the
// loads asked for after it; hits go on.
func ExampleRTCache_Close() {
	slow := func(ctx context.Context, host string) (string, time.Duration, error) {
		select {
		case <-time.After(50 * time.Millisecond):
			return "192.0.2.1", time.Minute, nil
		case <-ctx.Done(): // Close's ctx ended first: stop the origin call
			return "", 0, context.Cause(ctx)
		}
	}
	rt, err := ufocache.NewRTCache(ufocache.Must(ufocache.Options[string, string]{MaxWeight: 100}), slow,
		ufocache.RTOptions[string, string]{})
	if err != nil {
		panic(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		v, _, err := rt.Get(context.Background(), "a.example") // a request in flight at shutdown
		fmt.Println("in flight:", v, err)
	})
	for rt.InFlight() == 0 { // until its load has started
		time.Sleep(time.Millisecond)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err = rt.Close(ctx)
	wg.Wait()
	fmt.Println("Close:", err)

	_, st, err := rt.Get(context.Background(), "b.example")
	fmt.Println("after Close:", st, errors.Is(err, ufocache.ErrClosed))
	v, st, _ := rt.Get(context.Background(), "a.example")
	fmt.Println("a hit:", v, st)
	// Output:
	// in flight: 192.0.2.1 <nil>
	// Close: <nil>
	// after Close: miss true
	// a hit: 192.0.2.1 hit
}
