package readthrough_test

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ufocache/ufocache/perf/readthrough"
)

func build(t *testing.T, name string, load readthrough.Loader) readthrough.Cache {
	t.Helper()
	c, err := readthrough.New(name, readthrough.Config{Capacity: 100}, load)
	if err != nil {
		if name == readthrough.Ufocache {
			t.Skip(err)
		}
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// TestOneLoad parks the loader until every caller is waiting, so the test
// needs no timing: all callers of the cold key must share one load.
func TestOneLoad(t *testing.T) {
	for _, name := range readthrough.Names {
		t.Run(name, func(t *testing.T) {
			var loads atomic.Int64
			release := make(chan struct{})
			c := build(t, name, func(ctx context.Context, k uint64) (uint64, time.Duration, error) {
				loads.Add(1)
				<-release
				return k + 1, 0, nil
			})
			const callers = 50
			var wg sync.WaitGroup
			errs := make(chan error, callers)
			for range callers {
				wg.Go(func() {
					v, err := c.Get(context.Background(), 7)
					if err == nil && v != 8 {
						err = errors.New("wrong value")
					}
					errs <- err
				})
			}
			for loads.Load() == 0 {
				time.Sleep(time.Millisecond)
			}
			close(release)
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Fatal(err)
				}
			}
			// A caller that arrived after the load finished hits the cache,
			// so one load is the only correct count.
			if n := loads.Load(); n != 1 {
				t.Fatalf("%d loads", n)
			}
			if v, err := c.Get(context.Background(), 7); err != nil || v != 8 {
				t.Fatalf("cached Get = %d, %v", v, err)
			}
		})
	}
}

func TestErrorReachesCaller(t *testing.T) {
	boom := errors.New("origin down")
	for _, name := range readthrough.Names {
		t.Run(name, func(t *testing.T) {
			c := build(t, name, func(context.Context, uint64) (uint64, time.Duration, error) {
				return 0, 0, boom
			})
			if _, err := c.Get(context.Background(), 1); !errors.Is(err, boom) {
				t.Fatalf("err = %v", err)
			}
		})
	}
}

func TestUnknown(t *testing.T) {
	if _, err := readthrough.New("varnish", readthrough.Config{Capacity: 1}, nil); err == nil {
		t.Fatal("no error")
	}
}

// Close leaves no goroutine of the cache running. golang-lru's expirable
// LRU starts a cleanup goroutine (a ticker at TTL/100) for any TTL and has
// no Close: the stampede suite's steady run of singleflight+golang-lru
// left it ticking every 500µs through the latency suite that follows, for
// every cache measured there. TTL caches and the others alike must stop
// what they started.
func TestCloseStopsGoroutines(t *testing.T) {
	for _, name := range readthrough.Names {
		t.Run(name, func(t *testing.T) {
			before := runtime.NumGoroutine()
			c, err := readthrough.New(name, readthrough.Config{Capacity: 100, TTL: 50 * time.Millisecond},
				func(_ context.Context, k uint64) (uint64, time.Duration, error) { return k, 0, nil })
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.Get(context.Background(), 1); err != nil {
				t.Fatal(err)
			}
			c.Close()
			// Goroutines told to stop exit on their own schedule, and
			// ufocache's coarse clock stops when its cache is collected:
			// give them GC cycles, not a time limit on the result.
			n := runtime.NumGoroutine()
			for range 200 {
				if n = runtime.NumGoroutine(); n <= before {
					return
				}
				runtime.GC()
				time.Sleep(10 * time.Millisecond)
			}
			t.Errorf("%d goroutines after Close, %d before the cache was built", n, before)
		})
	}
}
