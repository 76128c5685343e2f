package shard

import "testing"

// An entry expires at its expiry time itself (reads judge it by now >=
// Expire, as reclaimable does): an Expire at exactly that time finds it
// expired, reports false and leaves it alone.
func TestExpireAtTheExpiryInstantFindsItExpired(t *testing.T) {
	var s Shard[int, int]
	s.Init(10, true, mixHash, 0, 0, 0, 0)
	s.Set(1, 10, mixHash(1), 1, 50, 1, nil) // expires at 50
	if !s.Expire(1, mixHash(1), 49, 49) {
		t.Fatal("Expire at 49 of an entry expiring at 50 reported false")
	}
	s.Set(2, 20, mixHash(2), 1, 50, 1, nil) // expires at 50
	old := s.Find(2, mixHash(2))
	if s.Expire(2, mixHash(2), 50, 50) {
		t.Error("Expire at 50 of an entry expiring at 50 reported it live")
	}
	if s.Find(2, mixHash(2)) != old {
		t.Error("Expire of an expired entry replaced it")
	}
	if err := s.Check(); err != nil {
		t.Fatal(err)
	}
}

// DeleteExpired removes every entry expired at least keep before now,
// and the sweep those expired at least keep (plus its grace) before: at
// exactly keep after its expiry an entry is reclaimed, a nanosecond
// earlier it is not.
func TestReclaimedAtExactlyKeepAfterExpiry(t *testing.T) {
	for _, keep := range []int64{0, 1000} {
		var s Shard[int, int]
		s.Init(100, true, mixHash, keep, 0, 0, 0)
		const expire = 5 << dueShift
		s.Set(1, 1, mixHash(1), 1, expire, 1, nil)
		s.Set(2, 2, mixHash(2), 1, expire, 1, nil)
		var out []Evicted[int, int]
		s.DeleteExpired(expire+keep-1, &out)
		if len(out) != 0 || s.Len() != 2 {
			t.Fatalf("keep %d: DeleteExpired a nanosecond short of keep after expiry removed %v", keep, out)
		}
		s.DeleteExpired(expire+keep, &out)
		if len(out) != 2 || s.Len() != 0 {
			t.Errorf("keep %d: DeleteExpired at exactly keep after expiry removed %d of 2 entries", keep, len(out))
		}
		if err := s.Check(); err != nil {
			t.Fatal(err)
		}
		// The sweep: key 1 expires, key 2's Sets advance the sweep.
		s.Set(1, 1, mixHash(1), 1, expire, 1, nil)
		at := int64(expire + keep + sweepGrace)
		for i := range 100 {
			s.Set(2, i, mixHash(2), 1, 0, at-1, nil)
		}
		if s.Find(1, mixHash(1)) == nil {
			t.Fatalf("keep %d: the sweep reclaimed key 1 a nanosecond short of keep and grace after expiry", keep)
		}
		for i := range 100 {
			s.Set(2, i, mixHash(2), 1, 0, at, nil)
		}
		if s.Find(1, mixHash(1)) != nil {
			t.Errorf("keep %d: the sweep left key 1 at exactly keep and grace after expiry", keep)
		}
		if err := s.Check(); err != nil {
			t.Fatal(err)
		}
	}
}

// An entry a Set evicts at or after its expiry leaves as Expired (counted
// as an expiration), not for capacity: at exactly its expiry time it is
// expired (reads judge now >= Expire).
func TestEvictedAtItsExpiryInstantIsExpired(t *testing.T) {
	for _, at := range []int64{100, 101} {
		var s Shard[int, int]
		s.Init(1, true, mixHash, 0, 0, 0, 0)
		s.Set(1, 1, mixHash(1), 1, 100, 1, nil) // expires at 100
		var out []Evicted[int, int]
		s.Set(2, 2, mixHash(2), 1, 0, at, &out)
		if len(out) != 1 || out[0].Key != 1 || out[0].Reason != Expired {
			t.Fatalf("at %d: evicted %v, want key 1 as expired", at, out)
		}
		if st := s.Stats(); st.Expirations != 1 || st.Evictions != 0 {
			t.Errorf("at %d: %d expirations, %d evictions; want 1 and 0", at, st.Expirations, st.Evictions)
		}
	}
}

// An entry as heavy as the shard's limit (its capacity, unless
// LimitEntryWeight lowered it) is stored; one a unit heavier is declined.
func TestEntryOfExactlyTheLimitIsStored(t *testing.T) {
	var s Shard[int, int]
	s.Init(100, false, mixHash, 0, 0, 0, 0)
	if !s.Set(1, 1, mixHash(1), 100, 0, 1, nil) || s.Weight() != 100 {
		t.Fatalf("an entry of the capacity's weight was declined (weight %d)", s.Weight())
	}
	if s.Set(2, 2, mixHash(2), 101, 0, 1, nil) {
		t.Fatal("an entry heavier than the capacity was stored")
	}
	s.LimitEntryWeight(40)
	if !s.Set(3, 3, mixHash(3), 40, 0, 1, nil) {
		t.Error("an entry of the limit's weight was declined")
	}
	if s.Set(4, 4, mixHash(4), 41, 0, 1, nil) {
		t.Error("an entry above the limit was stored")
	}
	if err := s.Check(); err != nil {
		t.Fatal(err)
	}
}

// Clear leaves a shard that counts nothing: Len and Weight read 0 at once,
// before any Set publishes them again.
func TestClearZeroesLenAndWeight(t *testing.T) {
	var s Shard[int, int]
	s.Init(100, false, mixHash, 0, 0, 0, 0)
	for k := range 10 {
		s.Set(k, k, mixHash(k), 3, 0, 1, nil)
	}
	if s.Len() != 10 || s.Weight() != 30 {
		t.Fatalf("setup: %d entries weighing %d, want 10 and 30", s.Len(), s.Weight())
	}
	s.Clear(nil)
	if s.Len() != 0 || s.Weight() != 0 {
		t.Errorf("after Clear: %d entries weighing %d, want 0 and 0", s.Len(), s.Weight())
	}
	if err := s.Check(); err != nil {
		t.Fatal(err)
	}
}

// A Set that declines its value (too heavy, or already expired) removes
// the key's older value, reported as Replaced (a later Set of the key
// displaced it), then the new one as Rejected.
func TestDeclinedSetReportsTheOlderValueReplaced(t *testing.T) {
	var s Shard[int, int]
	s.Init(100, false, mixHash, 0, 0, 0, 0)
	s.Set(1, 10, mixHash(1), 1, 0, 1, nil)
	for _, c := range []struct {
		w      uint32
		expire int64
	}{{101, 0}, {1, -1}} {
		s.Set(1, 10, mixHash(1), 1, 0, 1, nil)
		var out []Evicted[int, int]
		if s.Set(1, 11, mixHash(1), c.w, c.expire, 1, &out) {
			t.Fatalf("weight %d expiry %d: stored", c.w, c.expire)
		}
		want := []Evicted[int, int]{{1, 10, Replaced}, {1, 11, Rejected}}
		if len(out) != 2 || out[0] != want[0] || out[1] != want[1] {
			t.Errorf("weight %d expiry %d: reported %v, want %v", c.w, c.expire, out, want)
		}
		if s.Find(1, mixHash(1)) != nil || s.Len() != 0 {
			t.Errorf("weight %d expiry %d: the older value is still held", c.w, c.expire)
		}
	}
	if err := s.Check(); err != nil {
		t.Fatal(err)
	}
}
