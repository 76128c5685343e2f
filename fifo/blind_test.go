package fifo

import "testing"

// fillBlind returns a policy of capacity 100 fresh from Init, filled with
// keys 0..99 (none read), and their entries by key.
func fillBlind(t *testing.T) (*S3[int, int], map[int]*entry) {
	t.Helper()
	p := newBlindS3(100)
	es := map[int]*entry{}
	for k := range 100 {
		es[k] = newEntry(k, 1)
		if gone := add(p, es[k]); len(gone) != 0 {
			t.Fatalf("filling: key %d evicted %d entries", k, len(gone))
		}
	}
	return p, es
}

// scan adds keys from..to-1, none read, keeping their entries in es.
func scan(p *S3[int, int], es map[int]*entry, from, to int) {
	for k := from; k < to; k++ {
		es[k] = newEntry(k, 1)
		add(p, es[k])
	}
}

func resident(es map[int]*entry, from, to int) (n int) {
	for k := from; k < to; k++ {
		if e := es[k]; e != nil && !e.Dead() {
			n++
		}
	}
	return n
}

// Until a key is seen again, every key was seen once and the duel has
// nothing to go by: newcomers displace the residents in CLOCK order, and
// after a scan the cache holds its last keys, as LRU would. Past blind
// admission, the same scan loses its duels to the residents the cache
// filled with.
func TestBlindAdmissionFollowsRecency(t *testing.T) {
	p, es := fillBlind(t)
	scan(p, es, 100, 300)
	if n := resident(es, 200, 300); n != 100 {
		t.Errorf("blind: %d of the scan's last 100 keys held, want 100", n)
	}
	if p.reuse || p.blind <= 0 || p.seen == nil {
		t.Errorf("blind admission ended with no key seen again (reuse %v, blind %d)", p.reuse, p.blind)
	}
	if err := p.CheckBets(); err != nil {
		t.Fatal(err)
	}

	q := newS3(100) // the same, past blind admission
	old := map[int]*entry{}
	for k := range 100 {
		old[k] = newEntry(k, 1)
		add(q, old[k])
	}
	scan(q, old, 100, 300)
	if n := resident(old, 0, 100); n < 90 {
		t.Errorf("duels: %d of the 100 residents held after the scan, want at least 90", n)
	}
}

// A read the CLOCK finds ends blind admission for good: the residents
// it has not reached yet keep their places.
func TestBlindAdmissionEndsOnARead(t *testing.T) {
	p, es := fillBlind(t)
	es[50].Touch()
	scan(p, es, 100, 300)
	if !p.reuse || p.blind != 0 || p.seen != nil {
		t.Fatalf("a read found: reuse %v, blind %d, seen %v; want it over and its ghost released", p.reuse, p.blind, p.seen)
	}
	if n := resident(es, 0, 50); n != 0 {
		t.Errorf("%d of the residents before the read one held, want 0 (displaced while blind)", n)
	}
	if n := resident(es, 50, 95); n != 45 {
		t.Errorf("%d of the read resident and those after it held, want all 45", n)
	}
	if err := p.CheckBets(); err != nil {
		t.Fatal(err)
	}
}

// Keys evicted while blind that come back end it: a loop longer than the
// cache, where following recency would hit nothing, is then left to the
// duels, long before the limit.
func TestBlindAdmissionEndsWhenKeysComeBack(t *testing.T) {
	p, es := fillBlind(t)
	scan(p, es, 100, 180)
	if p.reuse {
		t.Fatal("blind admission ended before any key came back")
	}
	for k := range 180 {
		if p.reuse {
			t.Logf("ended after %d keys came back", k)
			break
		}
		if es[k].Dead() {
			es[k] = newEntry(k, 1)
			add(p, es[k])
		}
	}
	if !p.reuse || p.seen != nil {
		t.Fatalf("180 keys came back and blind admission goes on (blind %d)", p.blind)
	}
	if p.blind != 0 {
		t.Errorf("blind %d after it ended", p.blind)
	}
}

// Blind admission lets in at most blindTimes the capacity in weight: a loop
// longer than the seen ghost's window returns its keys unrecognised.
func TestBlindAdmissionIsBounded(t *testing.T) {
	p, es := fillBlind(t)
	scanned := 0 // each newcomer from the first overflow on sends one small head to main
	for k := 100; !p.reuse; k++ {
		if k > 100+2*blindTimes*100 {
			t.Fatalf("%d keys scanned and blind admission goes on (blind %d)", k-100, p.blind)
		}
		scan(p, es, k, k+1)
		scanned++
	}
	if want := blindTimes * 100; scanned != want {
		t.Errorf("blind admission ended after %d newcomers, want %d", scanned, want)
	}
	if p.seen != nil {
		t.Error("the seen ghost outlived blind admission")
	}
	k := 100 + 2*blindTimes*100
	scan(p, es, k, k+100)
	if n := resident(es, k, k+100); n > 10 {
		t.Errorf("after the limit, %d of 100 more scanned keys held, want the duels to turn most away", n)
	}
}

// Blind admission ends at the blindReturns-th sampled key that its seen
// ghost remembers coming back: not before, and not one later.
func TestBlindAdmissionEndsAtTheSecondReturn(t *testing.T) {
	p, es := fillBlind(t)
	scan(p, es, 100, 180)
	if p.reuse {
		t.Fatal("blind admission ended before any key came back")
	}
	returns := 0
	for k := range 180 {
		if !es[k].Dead() {
			continue
		}
		h := hash(k)
		counts := sampled(h) && p.seen.has(h)
		es[k] = newEntry(k, 1)
		add(p, es[k])
		if counts {
			returns++
		}
		if p.reuse != (returns >= blindReturns) {
			t.Fatalf("after key %d came back (%d remembered returns): blind admission ended %v, want %v",
				k, returns, p.reuse, returns >= blindReturns)
		}
		if p.reuse {
			return
		}
	}
	t.Fatalf("only %d remembered keys came back: the test proves nothing", returns)
}
