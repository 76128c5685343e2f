package clock

import (
	"testing"
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
	if running, _ := Running(); !running {
		t.Fatal("stopped while a reference remains")
	}
	b.Release()
	running, done := Running()
	if running {
		t.Fatal("running with no reference")
	}
	<-done // the goroutine returns; a leak would hang here and time the test out
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
