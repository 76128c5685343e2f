package readthrough_test

import (
	"context"
	"errors"
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
