package clock

import (
	"testing"
	"testing/synctest"
	"time"
)

func TestTickerLivesWhileReferenced(t *testing.T) {
	a, b := Acquire(), Acquire()
	if running, _ := Running(); !running {
		t.Fatal("not running after Acquire")
	}
	start := Now()
	if d := Precise() - start; d < 0 || d > int64(time.Minute) {
		t.Fatalf("coarse and precise clocks disagree by %v", time.Duration(d))
	}
	a.Release()
	a.Release() // twice is harmless
	running, done := Running()
	if !running {
		t.Fatal("stopped while a reference remains")
	}
	// The goroutine itself keeps running: it would return within a tick of
	// a close of its stop channel. (A slow machine can only hide a bug
	// here, never fail a correct ticker.)
	select {
	case <-done:
		t.Fatal("the ticker's goroutine returned while a reference remains")
	case <-time.After(20 * Tick):
	}
	b.Release()
	running, done = Running()
	if running {
		t.Fatal("running with no reference")
	}
	<-done // the goroutine returns; a leak would hang here and time the test out
}

// A ticker that starts sets the clock to the exact time at once, before
// its first tick: the clock stood still while no cache held it, and a cache
// made then would otherwise judge expiries by a time as old as that pause
// (here the ticker is held, as when the scheduler does not run it).
func TestNowIsExactWhenTheTickerStarts(t *testing.T) {
	if running, _ := Running(); running {
		t.Fatal("the ticker runs before the test: a test left a reference")
	}
	Hold(true)
	defer Hold(false)
	for Precise()-Now() < int64(2*Tick) { // the stopped clock falls behind
		time.Sleep(Tick)
	}
	p := Precise()
	r := Acquire()
	defer r.Release()
	if now := Now(); now < p {
		t.Fatalf("Now() is %v behind the exact time read before Acquire", time.Duration(p-now))
	}
}

func TestNowAdvances(t *testing.T) {
	r := Acquire()
	defer r.Release()
	start := Now()
	deadline := time.Now().Add(time.Minute)
	for Now() == start {
		if time.Now().After(deadline) {
			t.Fatal("the coarse clock did not tick in a minute")
		}
		time.Sleep(Tick)
	}
}

// The clock never goes back, whatever order two tickers (one stopping, one
// starting) store their readings in.
func TestClockNeverGoesBack(t *testing.T) {
	start := Now()
	advance(start + 100)
	advance(start + 50) // an older reading, stored late
	if got := Now(); got < start+100 {
		t.Fatalf("Now() = start%+d after readings start+100 then start+50, want at least start+100", got-start)
	}
	// Many tickers' worth of stops and starts, with a reader checking.
	stop := make(chan struct{})
	back := make(chan int64, 1)
	go func() {
		last := Now()
		for {
			select {
			case <-stop:
				close(back)
				return
			default:
			}
			n := Now()
			if n < last {
				back <- last - n
				close(back)
				return
			}
			last = n
		}
	}()
	for range 200 {
		Acquire().Release()
	}
	close(stop)
	if d, ok := <-back; ok {
		t.Fatalf("Now() went back by %dns across ticker restarts", d)
	}
}

// Faked tells a synctest bubble's time from the process's, even after the
// bubble's clock has run on.
func TestFaked(t *testing.T) {
	if Faked() {
		t.Fatal("Faked outside any bubble")
	}
	synctest.Test(t, func(t *testing.T) {
		if !Faked() {
			t.Fatal("not Faked in a bubble")
		}
		time.Sleep(24 * time.Hour)
		if !Faked() {
			t.Fatal("not Faked in a bubble a day on")
		}
		time.Sleep(time.Until(epoch.Round(0)) + time.Hour) // past the real epoch
		if !Faked() {
			t.Fatalf("not Faked in a bubble whose time (%v) is past the process's epoch (%v)", time.Now(), epoch.Round(0))
		}
	})
}

// Catch moves a clock that lags by more than a Tick to the reading it is
// given, and leaves one within a Tick, or held, where it is.
func TestCatchMovesALaggingClock(t *testing.T) {
	if running, _ := Running(); running {
		t.Fatal("the ticker runs before the test: a test left a reference")
	}
	for Precise()-Now() < int64(3*Tick) { // no ticker: the clock falls behind
		time.Sleep(Tick)
	}
	Hold(true)
	p := Precise()
	Catch(p)
	if now := Now(); now >= p {
		t.Fatal("Catch moved a held clock")
	}
	Hold(false)
	Catch(p)
	if now := Now(); now != p {
		t.Fatalf("Catch(%d) left a clock %v behind at %d", p, time.Duration(p-now), now)
	}
	Catch(p + int64(Tick)) // within a Tick: no store
	if now := Now(); now != p {
		t.Fatalf("Catch within a Tick moved the clock from %d to %d", p, now)
	}
	Catch(p - int64(time.Second)) // behind it: never backwards
	if now := Now(); now != p {
		t.Fatalf("Catch moved the clock back from %d to %d", p, now)
	}
}
