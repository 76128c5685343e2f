// Package clock is a coarse monotonic clock: one goroutine stores the time
// every millisecond while some cache holds a reference, so that reading the
// time on a Get is one atomic load instead of a clock_gettime call.
package clock

import (
	"sync"
	"sync/atomic"
	"time"
)

// Tick is the clock's resolution.
const Tick = time.Millisecond

var (
	epoch = time.Now()
	now   atomic.Int64 // nanoseconds since epoch, refreshed every Tick

	mu   sync.Mutex
	refs int
	stop chan struct{}
	wg   sync.WaitGroup
)

// Now returns the coarse time in nanoseconds since the package's epoch.
// It is exact at the moment a ticker starts and at most about one Tick
// behind afterwards.
func Now() int64 { return now.Load() }

// Precise returns the exact time on the same scale as Now.
func Precise() int64 { return int64(time.Since(epoch)) }

// Ref keeps the ticker running until Release.
type Ref struct{ once sync.Once }

// Acquire starts the ticker if it is not running and returns a reference
// that keeps it running.
func Acquire() *Ref {
	mu.Lock()
	defer mu.Unlock()
	refs++
	if refs == 1 {
		now.Store(Precise())
		stop = make(chan struct{})
		wg.Add(1)
		go run(stop)
	}
	return &Ref{}
}

// Release drops the reference; the last one stops the ticker. Calling it
// twice is harmless.
func (r *Ref) Release() {
	r.once.Do(func() {
		mu.Lock()
		defer mu.Unlock()
		refs--
		if refs == 0 {
			close(stop)
		}
	})
}

// Running reports whether the ticker goroutine runs; for tests.
func Running() bool {
	mu.Lock()
	defer mu.Unlock()
	return refs > 0
}

func run(stop chan struct{}) {
	defer wg.Done()
	t := time.NewTicker(Tick)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			now.Store(Precise())
		}
	}
}
