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
	done chan struct{} // closed when the ticker goroutine has returned
)

// Now returns the coarse time in nanoseconds since the package's epoch.
// It is exact at the moment a ticker starts and about one Tick behind
// afterwards, while the scheduler runs the ticker's goroutine on time:
// with every P busy it can fall tens of milliseconds behind (see
// NearExpiry).
func Now() int64 { return now.Load() }

// NearExpiry is how close to an expiry, by Now, a reader takes the exact
// time to judge it instead (ufocache's Cache.nowFor). The ticker's
// goroutine only stores the time when the scheduler runs it: a goroutine
// spinning on Get at GOMAXPROCS 1 kept Get returning an entry 7 ms past
// its TTL with a 6 ms spin and 22 ms past it with a 30 ms spin (the
// scheduler preempts a goroutine after 10 ms).
const NearExpiry = 50 * time.Millisecond

// Precise returns the exact time on the same scale as Now.
func Precise() int64 { return int64(time.Since(epoch)) }

// Faked reports whether the caller's time is not the process's: inside a
// testing/synctest bubble, time is the bubble's, which starts at 2000-01-01
// and carries no monotonic reading. A cache made there must not start (or
// count on) the process's ticker: the ticker's goroutine and channels would
// belong to the bubble, and Precise, measured from a real epoch, would read
// years off. (Comparing the wall clock with the epoch instead took a clock
// set back after the process started for a bubble, and missed a bubble
// whose time had been slept past the epoch.)
func Faked() bool {
	n := time.Now()
	return n == n.Round(0)
}

// Ref keeps the ticker running until Release.
type Ref struct{ once sync.Once }

// Acquire starts the ticker if it is not running and returns a reference
// that keeps it running.
func Acquire() *Ref {
	mu.Lock()
	defer mu.Unlock()
	refs++
	if refs == 1 {
		advance(Precise())
		stop, done = make(chan struct{}), make(chan struct{})
		go run(stop, done)
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

// Running reports whether some reference keeps the ticker running, and a
// channel closed once its goroutine has returned (nil if it never ran).
func Running() (bool, <-chan struct{}) {
	mu.Lock()
	defer mu.Unlock()
	return refs > 0, done
}

func run(stop, done chan struct{}) {
	defer close(done)
	t := time.NewTicker(Tick)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			if !held.Load() && !starved.Load() {
				advance(Precise())
			}
		}
	}
}

// Catch moves the clock to p, an exact reading a caller took anyway (a
// write with a TTL, a load, a read within NearExpiry of an expiry), if
// the clock lags it by more than a Tick: a
// ticker goroutine the scheduler has not run for a while then lags only
// until the next such reading, not until it runs (an invalidation-bus
// port under -race saw it 205 ms behind, and hits served 92.7 ms past
// their TTL, beyond NearExpiry's reach). At most one store a Tick: once
// it has moved, the next readings are within a Tick of it. Not while
// Hold holds the clock.
func Catch(p int64) {
	if p-now.Load() > int64(Tick) && !held.Load() {
		advance(p)
	}
}

// held stops the ticker (and Catch) from advancing the clock: a test's
// stand-in for a ticker goroutine the scheduler does not run (every P
// busy) while no write catches it up.
var held atomic.Bool

// Hold stops (true) or resumes (false) the clock's advance; for tests.
func Hold(on bool) { held.Store(on) }

// starved stops the ticker alone: Catch still moves the clock.
var starved atomic.Bool

// Starve stops (true) or resumes (false) the ticker's advance alone, as
// the scheduler does when it does not run the ticker's goroutine; for
// tests.
func Starve(on bool) { starved.Store(on) }

// advance moves the clock to p unless it is already past it: a ticker
// that is stopping can store once more after the next one started (select
// picks at random when stop and a tick are both ready), with a reading
// older than the new ticker's.
func advance(p int64) {
	for {
		cur := now.Load()
		if p <= cur || now.CompareAndSwap(cur, p) {
			return
		}
	}
}
