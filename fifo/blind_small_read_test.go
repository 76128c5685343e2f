package fifo

import "testing"

// A small head found read while the cache fills is a key seen again: blind
// admission never starts, and from the first overflow on the newcomers
// duel (S3.blindAdmits: "a small head read while the cache filled counts").
// Only the small queue's reads can show reuse here: fill moves heads on to
// main with their reads taken, so the CLOCK finds none.
func TestSmallHeadReadWhileFillingPreventsBlindAdmission(t *testing.T) {
	p := newBlindS3(100)
	es := map[int]*entry{}
	for k := range 100 {
		es[k] = newEntry(k, 1)
		add(p, es[k])
		if k == 0 {
			if es[0].InMain() {
				t.Fatal("key 0 went straight to main")
			}
			es[0].Touch() // read while it waits in the small queue
		}
	}
	if !es[0].InMain() || es[0].Freq() != 0 {
		t.Fatalf("key 0 is not in main with its read taken (meta %#x)", es[0].meta.Load())
	}
	if !p.reuse {
		t.Fatal("the read small head was not taken for reuse while the cache filled")
	}
	scan(p, es, 100, 300)
	if p.blind != 0 || p.seen != nil {
		t.Fatalf("blind admission started after the fill showed reuse (blind %d)", p.blind)
	}
	if n := resident(es, 0, 100); n < 90 {
		t.Errorf("%d of the 100 residents held after the scan, want at least 90 (the duels turn it away)", n)
	}
}

// Once the cache overflowed, a small head that Evict finds read (sent
// round the small queue, not a CLOCK read) ends blind admission for good.
func TestSmallHeadReadEndsBlindAdmission(t *testing.T) {
	p, es := fillBlind(t)
	scan(p, es, 100, 110)
	if p.reuse || p.blind <= 0 {
		t.Fatalf("blind admission is not under way (reuse %v, blind %d)", p.reuse, p.blind)
	}
	e := es[109]
	if e.InMain() || e.Dead() {
		t.Fatal("the last newcomer is not in the small queue")
	}
	e.Touch()
	for k := 110; e.Freq() != 0; k++ {
		if k > 200 {
			t.Fatal("the read newcomer never reached the small queue's head")
		}
		scan(p, es, k, k+1)
	}
	if e.Dead() || e.InMain() {
		t.Fatal("the read small head did not go round the small queue")
	}
	if !p.reuse || p.blind != 0 || p.seen != nil {
		t.Fatalf("a small head found read: reuse %v, blind %d; want blind admission over", p.reuse, p.blind)
	}
}
