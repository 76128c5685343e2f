package reliability

// Hand-built histories, with verdicts derived from the rules linModel's
// doc states, for the rules TestLinModelRejects does not reach; and the
// recorder's and the soak's judges fed answers known to be wrong.

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/ufocache/ufocache"
)

func TestLinModelRejectsMore(t *testing.T) {
	type o = linOp
	at := func(op o, from, to int64) o { op.in.from, op.in.to = from, to; return op }
	ttl := func(op o, d time.Duration) o { op.in.ttl = d; return op }
	set := func(k int, v uint64, ok bool, call, ret int64) o {
		return o{linInput{kind: linSet, key: k, val: v, how: "Set", at: call}, linOutput{ok: ok}, call, ret}
	}
	rtSet := func(k int, v uint64, call, ret int64) o {
		return o{linInput{kind: linRTSet, key: k, val: v, how: "RT.Set", at: call}, linOutput{ok: true}, call, ret}
	}
	rtDel := func(k int, v uint64, call, ret int64) o {
		return o{linInput{kind: linRTDelete, key: k, how: "RT.Delete", at: call}, linOutput{val: v, ok: v != 0}, call, ret}
	}
	get := func(k int, v uint64, call, ret int64) o {
		return o{linInput{kind: linGet, key: k, how: "Get"}, linOutput{val: v, ok: v != 0}, call, ret}
	}
	del := func(k int, v uint64, call, ret int64) o {
		return o{linInput{kind: linDelete, key: k, how: "Delete"}, linOutput{val: v, ok: v != 0}, call, ret}
	}
	expired := func(k int, call, ret int64) o {
		return o{linInput{kind: linGet, key: k, how: "GetWithStatus"}, linOutput{st: ufocache.Expired}, call, ret}
	}
	// absent is a miss of the Cache's lookup how (GetWithStatus, MultiGet
	// or GetStale), which says the key had no entry at all.
	absent := func(how string, k int, call, ret int64) o {
		return o{linInput{kind: linGet, key: k, how: how}, linOutput{st: ufocache.Miss}, call, ret}
	}
	// withTTL is a GetWithTTL (RT.GetWithTTL if rt: a Hit) of v with d left.
	withTTL := func(rt bool, k int, v uint64, d time.Duration, call, ret int64) o {
		if rt {
			return o{linInput{kind: linRTGet, key: k, how: "RT.GetWithTTL"}, linOutput{val: v, st: ufocache.Hit, left: d, withTTL: true}, call, ret}
		}
		return o{linInput{kind: linGet, key: k, how: "GetWithTTL"}, linOutput{val: v, ok: true, left: d, withTTL: true}, call, ret}
	}
	staleGet := func(k int, v uint64, d time.Duration, call, ret int64) o {
		return o{linInput{kind: linGet, key: k, how: "GetStale"}, linOutput{val: v, ok: true, stale: d}, call, ret}
	}
	invalidate := func(k int, ok bool, call, ret int64) o {
		return o{linInput{kind: linInvalidate, key: k, how: "RT.Invalidate", at: call}, linOutput{ok: ok}, call, ret}
	}
	rtGet := func(k int, v uint64, st ufocache.Status, call, ret int64) o {
		return o{linInput{kind: linRTGet, key: k, how: "RT.Get"}, linOutput{val: v, st: st}, call, ret}
	}
	// loaded is an RT.Get that returned v (or, if failed, the error v) of
	// a Loader called at stamp when, with the Clock at clock, kept for keep.
	loaded := func(k int, v uint64, st ufocache.Status, failed bool, when, clock int64, keep time.Duration, call, ret int64) o {
		op := rtGet(k, v, st, call, ret)
		if failed {
			op.out.val, op.out.err, op.out.errID = 0, &linLoadError{v}, v
		}
		op.out.loadAt, op.out.loadKey, op.out.loadClock, op.out.loadTTL = when, k, clock, keep
		return op
	}
	cachedError := func(k int, id uint64, call, ret int64) o {
		return o{linInput{kind: linRTGet, key: k, how: "RT.Get"}, linOutput{st: ufocache.Hit, err: &linLoadError{id}, errID: id}, call, ret}
	}
	// told makes the RT.Get op an RT.GetWithTTL that reported d left.
	told := func(op o, d time.Duration) o {
		op.in.how, op.out.left, op.out.withTTL = "RT.GetWithTTL", d, true
		return op
	}
	// errorTTL is an RT.GetWithTTL that got the cached error id with d left.
	errorTTL := func(k int, id uint64, d time.Duration, call, ret int64) o {
		op := cachedError(k, id, call, ret)
		op.in.how, op.out.left, op.out.withTTL = "RT.GetWithTTL", d, true
		return op
	}
	// setIfAbsent offered v and returned got, stored or not.
	setIfAbsent := func(k int, v, got uint64, stored bool, call, ret int64) o {
		return o{linInput{kind: linSetIfAbsent, key: k, val: v, how: "SetIfAbsent", at: call}, linOutput{val: got, ok: stored}, call, ret}
	}
	// Weight 1 values a, b; h weighs 7, above the share of 6; l, l2 and hl
	// (weight 7) were loaded; e, e2 are load errors.
	const a, b, h = 1<<4 | 1, 2<<4 | 1, 5<<4 | 7
	const l, l2, hl, e, e2 = 3<<4 | 1 | linLoadedBit, 6<<4 | 1 | linLoadedBit, 7<<4 | 7 | linLoadedBit, 4<<4 | 1 | linLoadedBit, 8<<4 | 1 | linLoadedBit
	for _, tc := range []struct {
		name          string
		ops           []o
		strict, loose bool
		detach        bool
	}{
		// A Set that is declined (too heavy, or a negative TTL) removes the older value.
		{"read of the value a declined Set removed", []o{set(1, a, true, 1, 2), set(1, h, false, 3, 4), get(1, a, 5, 6)}, false, false, false},
		{"read of the value a negative-TTL Set removed", []o{set(1, a, true, 1, 2), ttl(set(1, b, false, 3, 4), -1), get(1, a, 5, 6)}, false, false, false},
		{"read during a declined Set", []o{set(1, a, true, 1, 2), set(1, h, false, 3, 6), get(1, a, 4, 5)}, true, true, false},
		// Invalidate: false is a miss (an eviction, under strict); true
		// finds a live value.
		{"hit after an Invalidate found nothing", []o{rtSet(1, a, 1, 2), invalidate(1, false, 3, 4), get(1, a, 5, 6)}, false, true, true},
		{"Invalidate finds a key never written", []o{invalidate(1, true, 1, 2)}, false, false, true},
		{"Invalidate finds a deleted value", []o{rtSet(1, a, 1, 2), rtDel(1, a, 3, 4), invalidate(1, true, 5, 6)}, false, false, true},
		// a expires at 10; Invalidate read the Clock at some r in [5, 10]
		// and found a live, so r <= 9, and a now expires at r <= 9.
		{"hit at 9 after Invalidate within [5, 10]", []o{at(ttl(rtSet(1, a, 1, 2), 10), 0, 0), at(invalidate(1, true, 3, 4), 5, 10), at(rtGet(1, a, ufocache.Hit, 5, 6), 9, 9)}, false, false, true},
		{"hit at 8 after Invalidate within [5, 10]", []o{at(ttl(rtSet(1, a, 1, 2), 10), 0, 0), at(invalidate(1, true, 3, 4), 5, 10), at(rtGet(1, a, ufocache.Hit, 5, 6), 8, 8)}, true, true, true},
		// A cached error answers only with its own id.
		{"cached error that was never cached", []o{loaded(1, e, ufocache.Miss, true, 2, 0, 10, 1, 3), at(cachedError(1, e2, 4, 5), 5, 5)}, false, false, false},
		// The leader's call began at Clock 0, its Loader was called at
		// Clock 5, and it returned at 5: what it loaded is kept for 10
		// from a reading in [5, 5], so it expires at 15, not before.
		{"load while a late-cached error lives", []o{at(loaded(1, e, ufocache.Miss, true, 2, 5, 10, 1, 3), 0, 5), at(loaded(1, l, ufocache.Miss, false, 5, 12, 0, 4, 6), 12, 12)}, false, false, false},
		{"load once the late-cached error expired", []o{at(loaded(1, e, ufocache.Miss, true, 2, 5, 10, 1, 3), 0, 5), at(loaded(1, l, ufocache.Miss, false, 5, 15, 0, 4, 6), 15, 15)}, true, true, false},
		{"late-loaded value expired early", []o{at(loaded(1, l, ufocache.Miss, false, 2, 5, 10, 1, 3), 0, 5), at(expired(1, 4, 5), 12, 12)}, false, false, false},
		{"late-loaded value expired on time", []o{at(loaded(1, l, ufocache.Miss, false, 2, 5, 10, 1, 3), 0, 5), at(expired(1, 4, 5), 15, 15)}, true, true, false},
		// A load too heavy to store is declined and removes the older value.
		{"read of the value a too-heavy load removed", []o{set(1, a, true, 1, 2), loaded(1, hl, ufocache.Miss, false, 4, 0, 0, 3, 5), get(1, a, 6, 7)}, false, false, false},
		// A LockHit reads the state: a Set's value that is no longer
		// there, or a load another load replaced, is not a LockHit.
		{"lock hit of an overwritten Set value", []o{set(1, a, true, 1, 2), set(1, b, true, 3, 4), rtGet(1, a, ufocache.LockHit, 5, 6)}, false, false, false},
		{"lock hit of the current Set value", []o{set(1, a, true, 1, 2), set(1, b, true, 3, 4), rtGet(1, b, ufocache.LockHit, 5, 6)}, true, true, false},
		{"lock hit of a replaced load", []o{loaded(1, l, ufocache.Miss, false, 2, 0, 0, 1, 3), loaded(1, l2, ufocache.Miss, false, 5, 0, 0, 4, 6), loaded(1, l, ufocache.LockHit, false, 2, 0, 0, 7, 8)}, false, false, false},
		// Strict: a Get that misses a value that may have expired (set for
		// 10 at a reading in [0, 5]: expiry in [10, 15]) at 12 proves it
		// expired by 12, so it is not live at 13.
		{"hit at 13 after a miss at 12", []o{at(ttl(set(1, a, true, 1, 2), 10), 0, 5), at(get(1, 0, 3, 4), 12, 12), at(get(1, a, 5, 6), 13, 13)}, false, true, false},
		// A leader's Status is what its lookup found before its Loader was
		// called: Expired, a value present and expired at a point between
		// its call and that of its Loader, read on the Clock no later than
		// the Loader's reading. Here a is set for 10 at the reading 0.
		{"leader's Expired of a key never written", []o{loaded(1, l, ufocache.Expired, false, 2, 0, 0, 1, 3)}, false, false, false},
		{"leader's Miss of a key never written", []o{loaded(1, l, ufocache.Miss, false, 2, 0, 0, 1, 3)}, true, true, false},
		// Within a call that read the Clock from 5 to 12.
		{"leader's Expired with its Loader called at 5", []o{at(ttl(set(1, a, true, 1, 2), 10), 0, 0), at(loaded(1, l, ufocache.Expired, false, 4, 5, 0, 3, 5), 5, 12)}, false, false, false},
		{"leader's Expired with its Loader called at 10", []o{at(ttl(set(1, a, true, 1, 2), 10), 0, 0), at(loaded(1, l, ufocache.Expired, false, 4, 10, 0, 3, 5), 5, 12)}, true, true, false},
		// A Delete at 20 that finds a expired removes it all the same.
		{"leader's Expired called after a Delete", []o{at(ttl(set(1, a, true, 1, 2), 10), 0, 0), at(del(1, 0, 3, 4), 20, 20), at(loaded(1, l, ufocache.Expired, false, 6, 20, 0, 5, 7), 20, 20)}, false, false, false},
		{"leader's Expired called before a Delete returned", []o{at(ttl(set(1, a, true, 1, 2), 10), 0, 0), at(del(1, 0, 4, 5), 20, 20), at(loaded(1, l, ufocache.Expired, false, 6, 20, 0, 3, 7), 20, 20)}, true, true, false},
		// The lookup and the store are two points: between them, b (which
		// never expires) is set and evicted unseen, and l is read after.
		// No single point of the call explains both what the lookup found
		// and the store; a leader called after the eviction has no point
		// to find a value expired.
		{"leader's Expired of a value set again and evicted before its load", []o{at(ttl(set(1, a, true, 1, 2), 10), 0, 0), at(loaded(1, l, ufocache.Expired, false, 9, 10, 0, 3, 11), 10, 10), set(1, b, true, 5, 6), get(1, 0, 7, 8), get(1, l, 12, 13)}, true, true, false},
		{"leader's Expired called after that eviction", []o{at(ttl(set(1, a, true, 1, 2), 10), 0, 0), at(loaded(1, l, ufocache.Expired, false, 10, 10, 0, 9, 11), 10, 10), set(1, b, true, 5, 6), get(1, 0, 7, 8), get(1, l, 12, 13)}, false, false, false},
		// Miss: the lookup found no entry, which with strict is an eviction,
		// even where the load stores nothing (it failed, its error cached).
		{"hit of a value a failed leader's lookup found absent", []o{set(1, a, true, 1, 2), loaded(1, e, ufocache.Miss, true, 4, 0, 10, 3, 5), get(1, a, 6, 7)}, false, true, false},
		// The Cache's lookups that tell an absent key from an expired one
		// (a Get's miss may be either): a is set for 10 at the reading 0,
		// and read stale 3 after its expiry.
		{"stale read after GetWithStatus found no entry", []o{at(ttl(set(1, a, true, 1, 2), 10), 0, 0), at(absent("GetWithStatus", 1, 3, 4), 12, 12), at(staleGet(1, a, 3, 5, 6), 13, 13)}, false, true, false},
		{"stale read after MultiGet found no entry", []o{at(ttl(set(1, a, true, 1, 2), 10), 0, 0), at(absent("MultiGet", 1, 3, 4), 12, 12), at(staleGet(1, a, 3, 5, 6), 13, 13)}, false, true, false},
		{"stale read after GetStale found no entry", []o{at(ttl(set(1, a, true, 1, 2), 10), 0, 0), at(absent("GetStale", 1, 3, 4), 12, 12), at(staleGet(1, a, 3, 5, 6), 13, 13)}, false, true, false},
		{"stale read after Get missed", []o{at(ttl(set(1, a, true, 1, 2), 10), 0, 0), at(get(1, 0, 3, 4), 12, 12), at(staleGet(1, a, 3, 5, 6), 13, 13)}, true, true, false},
		{"stale read after GetWithStatus found it expired", []o{at(ttl(set(1, a, true, 1, 2), 10), 0, 0), at(expired(1, 3, 4), 12, 12), at(staleGet(1, a, 3, 5, 6), 13, 13)}, true, true, false},
		{"stale read of a value set after GetWithStatus found no entry", []o{at(absent("GetWithStatus", 1, 1, 2), 0, 0), at(ttl(set(1, a, true, 3, 4), 10), 0, 0), at(staleGet(1, a, 3, 5, 6), 13, 13)}, true, true, false},
		// GetWithTTL: a is set for 10 at the reading 0 (expiry 10) and b
		// for ever; read at 3 (or within [3, 5]), a has 7 left (5 to 7).
		{"GetWithTTL: 7 left at 3 of an expiry at 10", []o{at(ttl(set(1, a, true, 1, 2), 10), 0, 0), at(withTTL(false, 1, a, 7, 3, 4), 3, 3)}, true, true, false},
		{"GetWithTTL: 6 left at 3 of an expiry at 10", []o{at(ttl(set(1, a, true, 1, 2), 10), 0, 0), at(withTTL(false, 1, a, 6, 3, 4), 3, 3)}, false, false, false},
		{"GetWithTTL: 8 left at 3 of an expiry at 10", []o{at(ttl(set(1, a, true, 1, 2), 10), 0, 0), at(withTTL(false, 1, a, 8, 3, 4), 3, 3)}, false, false, false},
		{"GetWithTTL: 5 left within [3, 5] of an expiry at 10", []o{at(ttl(set(1, a, true, 1, 2), 10), 0, 0), at(withTTL(false, 1, a, 5, 3, 4), 3, 5)}, true, true, false},
		{"GetWithTTL: no expiry of a value that has one", []o{at(ttl(set(1, a, true, 1, 2), 10), 0, 0), at(withTTL(false, 1, a, ufocache.NoExpiration, 3, 4), 3, 3)}, false, false, false},
		{"GetWithTTL: no expiry of a value that has none", []o{set(1, b, true, 1, 2), withTTL(false, 1, b, ufocache.NoExpiration, 3, 4)}, true, true, false},
		{"GetWithTTL: an expiry of a value that has none", []o{set(1, b, true, 1, 2), at(withTTL(false, 1, b, 5, 3, 4), 3, 3)}, false, false, false},
		// Set at a reading in [0, 5]: expiry in [10, 15], 13 by the first read.
		{"GetWithTTL: two reads that agree", []o{at(ttl(set(1, a, true, 1, 2), 10), 0, 5), at(withTTL(false, 1, a, 12, 3, 4), 1, 1), at(withTTL(false, 1, a, 10, 5, 6), 3, 3)}, true, true, false},
		{"GetWithTTL: two reads that disagree", []o{at(ttl(set(1, a, true, 1, 2), 10), 0, 5), at(withTTL(false, 1, a, 12, 3, 4), 1, 1), at(withTTL(false, 1, a, 9, 5, 6), 3, 3)}, false, false, false},
		{"RT.GetWithTTL: 7 left at 3 of an expiry at 10", []o{at(ttl(set(1, a, true, 1, 2), 10), 0, 0), at(withTTL(true, 1, a, 7, 3, 4), 3, 3)}, true, true, false},
		{"RT.GetWithTTL: 6 left at 3 of an expiry at 10", []o{at(ttl(set(1, a, true, 1, 2), 10), 0, 0), at(withTTL(true, 1, a, 6, 3, 4), 3, 3)}, false, false, false},
		// RT.GetWithTTL of a cached error: e, its load's Loader called at
		// the reading 0 (or within [0, 5]) and kept for 10, read at 3.
		{"RT.GetWithTTL: a cached error with 7 left at 3 of an expiry at 10", []o{at(loaded(1, e, ufocache.Miss, true, 2, 0, 10, 1, 3), 0, 0), at(errorTTL(1, e, 7, 4, 5), 3, 3)}, true, true, false},
		{"RT.GetWithTTL: a cached error with 6 left at 3 of an expiry at 10", []o{at(loaded(1, e, ufocache.Miss, true, 2, 0, 10, 1, 3), 0, 0), at(errorTTL(1, e, 6, 4, 5), 3, 3)}, false, false, false},
		{"RT.GetWithTTL: a cached error with 8 left at 3 of an expiry at 10", []o{at(loaded(1, e, ufocache.Miss, true, 2, 0, 10, 1, 3), 0, 0), at(errorTTL(1, e, 8, 4, 5), 3, 3)}, false, false, false},
		{"RT.GetWithTTL: a cached error with no time left", []o{at(loaded(1, e, ufocache.Miss, true, 2, 0, 10, 1, 3), 0, 0), at(errorTTL(1, e, 0, 4, 5), 3, 3)}, false, false, false},
		{"RT.GetWithTTL: a cached error kept for ever", []o{at(loaded(1, e, ufocache.Miss, true, 2, 0, 10, 1, 3), 0, 0), at(errorTTL(1, e, ufocache.NoExpiration, 4, 5), 3, 3)}, false, false, false},
		{"RT.GetWithTTL: two reads of a cached error that agree", []o{at(loaded(1, e, ufocache.Miss, true, 2, 0, 10, 1, 3), 0, 5), at(errorTTL(1, e, 12, 4, 5), 1, 1), at(errorTTL(1, e, 10, 6, 7), 3, 3)}, true, true, false},
		{"RT.GetWithTTL: two reads of a cached error that disagree", []o{at(loaded(1, e, ufocache.Miss, true, 2, 0, 10, 1, 3), 0, 5), at(errorTTL(1, e, 12, 4, 5), 1, 1), at(errorTTL(1, e, 9, 6, 7), 3, 3)}, false, false, false},
		// RT.GetWithTTL of a loaded value: l, its Loader called at the
		// reading 0 and kept for 10, expires at 10 if the Loader returned
		// at 0 (the call's readings [0, 0]), in [10, 15] if within [0, 5].
		{"RT.GetWithTTL: a load kept 10 from 0, 10 left at 0", []o{at(told(loaded(1, l, ufocache.Miss, false, 2, 0, 10, 1, 3), 10), 0, 0)}, true, true, false},
		{"RT.GetWithTTL: a load kept 10 from 0, 11 left at 0", []o{at(told(loaded(1, l, ufocache.Miss, false, 2, 0, 10, 1, 3), 11), 0, 0)}, false, false, false},
		{"RT.GetWithTTL: a load kept 10 from 0, none left at 0", []o{at(told(loaded(1, l, ufocache.Miss, false, 2, 0, 10, 1, 3), 0), 0, 0)}, false, false, false},
		{"RT.GetWithTTL: a load kept 10 from 0, none left at 12", []o{at(told(loaded(1, l, ufocache.Miss, false, 2, 0, 10, 1, 3), 0), 0, 12)}, true, true, false},
		{"RT.GetWithTTL: a load kept 10 from 0, no expiry", []o{at(told(loaded(1, l, ufocache.Miss, false, 2, 0, 10, 1, 3), ufocache.NoExpiration), 0, 0)}, false, false, false},
		// Its leader said 9 left at 3 (expiry 12): a hit agrees, or not.
		{"RT.GetWithTTL: a hit agrees with the load's time left", []o{at(told(loaded(1, l, ufocache.Miss, false, 2, 0, 10, 1, 3), 9), 3, 3), at(withTTL(true, 1, l, 8, 4, 5), 4, 4)}, true, true, false},
		{"RT.GetWithTTL: a hit disagrees with the load's time left", []o{at(told(loaded(1, l, ufocache.Miss, false, 2, 0, 10, 1, 3), 9), 3, 3), at(withTTL(true, 1, l, 7, 4, 5), 4, 4)}, false, false, false},
		// A waiter said 9 left at 3 of the load its leader returned at [0, 5].
		{"RT.GetWithTTL: a waiter agrees with a later hit", []o{at(loaded(1, l, ufocache.Miss, false, 2, 0, 10, 1, 6), 0, 5), at(told(loaded(1, l, ufocache.LockHit, false, 2, 0, 10, 3, 6), 9), 3, 3), at(withTTL(true, 1, l, 8, 7, 8), 4, 4)}, true, true, false},
		{"RT.GetWithTTL: a waiter disagrees with a later hit", []o{at(loaded(1, l, ufocache.Miss, false, 2, 0, 10, 1, 6), 0, 5), at(told(loaded(1, l, ufocache.LockHit, false, 2, 0, 10, 3, 6), 9), 3, 3), at(withTTL(true, 1, l, 7, 7, 8), 4, 4)}, false, false, false},
		// A lookup that found a's Set (for 10 at 0) on its recheck.
		{"RT.GetWithTTL: a Set's value found on a recheck, 7 left at 3", []o{at(ttl(set(1, a, true, 1, 2), 10), 0, 0), at(told(rtGet(1, a, ufocache.LockHit, 3, 4), 7), 3, 3)}, true, true, false},
		{"RT.GetWithTTL: a Set's value found on a recheck, 6 left at 3", []o{at(ttl(set(1, a, true, 1, 2), 10), 0, 0), at(told(rtGet(1, a, ufocache.LockHit, 3, 4), 6), 3, 3)}, false, false, false},
		// Its time left is read as the call returns: the value found live
		// may have expired by then (0 left), if the call read 10 or later.
		{"RT.GetWithTTL: a Set's value found on a recheck, none left by 12", []o{at(ttl(set(1, a, true, 1, 2), 10), 0, 0), at(told(rtGet(1, a, ufocache.LockHit, 3, 4), 0), 3, 12)}, true, true, false},
		{"RT.GetWithTTL: a Set's value found on a recheck, none left by 9", []o{at(ttl(set(1, a, true, 1, 2), 10), 0, 0), at(told(rtGet(1, a, ufocache.LockHit, 3, 4), 0), 3, 9)}, false, false, false},
		{"RT.GetWithTTL: a hit with no time left", []o{at(ttl(set(1, a, true, 1, 2), 10), 0, 0), at(withTTL(true, 1, a, 0, 3, 4), 3, 12)}, false, false, false},
		// SetIfAbsent: it returns the live value and leaves it, or stores
		// its own (the old one evicted or expired), or, declined, removes
		// what expired.
		{"SetIfAbsent returns the live value", []o{set(1, a, true, 1, 2), setIfAbsent(1, b, a, false, 3, 4), get(1, a, 5, 6)}, true, true, false},
		{"SetIfAbsent returns a value never written", []o{set(1, a, true, 1, 2), setIfAbsent(1, b, b, false, 3, 4)}, false, false, false},
		{"SetIfAbsent returns a deleted value", []o{set(1, a, true, 1, 2), del(1, a, 3, 4), setIfAbsent(1, b, a, false, 5, 6)}, false, false, false},
		{"SetIfAbsent returns a value after its expiry", []o{at(ttl(set(1, a, true, 1, 2), 10), 0, 0), at(setIfAbsent(1, b, a, false, 3, 4), 10, 10)}, false, false, false},
		{"SetIfAbsent stores, then a get of the old value", []o{set(1, a, true, 1, 2), setIfAbsent(1, b, b, true, 3, 4), get(1, a, 5, 6)}, false, false, false},
		{"SetIfAbsent stores over an evicted value", []o{set(1, a, true, 1, 2), setIfAbsent(1, b, b, true, 3, 4), get(1, b, 5, 6)}, true, true, false},
		{"SetIfAbsent stores another value than its own", []o{setIfAbsent(1, b, a, true, 1, 2)}, false, false, false},
		{"SetIfAbsent declines a value that fits, over nothing", []o{setIfAbsent(1, b, 0, false, 1, 2)}, false, false, false},
		{"SetIfAbsent declines a heavy value, over nothing", []o{setIfAbsent(1, h, 0, false, 1, 2)}, true, true, false},
		{"a read of the value a declined SetIfAbsent removed", []o{set(1, a, true, 1, 2), setIfAbsent(1, h, 0, false, 3, 4), get(1, a, 5, 6)}, false, false, false},
		{"hit of a value set as a failed leader looked up", []o{set(1, a, true, 1, 6), loaded(1, e, ufocache.Miss, true, 4, 0, 10, 3, 5), get(1, a, 7, 8)}, true, true, false},
	} {
		checkVerdicts(t, tc.name, tc.ops, tc.strict, tc.loose, tc.detach)
	}
}

// TestLinRecorderJudges: what the recorder attaches to the operations it
// records decides their verdict; wrong attachments pass broken caches.
func TestLinRecorderJudges(t *testing.T) {
	const v, w, errV = 1<<4 | 1 | linLoadedBit, 2<<4 | 1 | linLoadedBit, 3<<4 | 1 | linLoadedBit
	newRec := func(background bool) *linRecorder {
		return &linRecorder{now: &linClock{}, background: background, led: map[uint64]int64{}}
	}
	check := func(rec *linRecorder) bool {
		return porcupine.CheckOperations(linModel(6, true, false), rec.finish())
	}
	rtGet := linInput{kind: linRTGet, key: 1, how: "RT.Get"}

	// A Miss returning the load of key 2 for key 1.
	rec := newRec(false)
	rec.loaded(2, v, 0, false)
	rec.record(0, rtGet, func() linOutput { return linOutput{val: v, st: ufocache.Miss} })
	if check(rec) {
		t.Error("a Get of key 1 returning key 2's load passes")
	}

	// The Loader is called at Clock 5 inside a call that began at 0, with
	// a TTL of 10: the value lives until 15, and is not expired at 12.
	for _, tc := range []struct {
		clock int64
		legal bool
	}{{12, false}, {15, true}} {
		rec = newRec(false)
		rec.record(0, rtGet, func() linOutput {
			rec.now.t.Store(5)
			rec.loaded(1, v, 10, false)
			return linOutput{val: v, st: ufocache.Miss}
		})
		rec.now.t.Store(tc.clock)
		rec.record(0, linInput{kind: linGet, key: 1, how: "GetWithStatus"}, func() linOutput { return linOutput{st: ufocache.Expired} })
		if got := check(rec); got != tc.legal {
			t.Errorf("expired at %d of a value loaded at 5 for 10: linearizable = %v, want %v", tc.clock, got, tc.legal)
		}
	}

	// Without background loads, no load gets an open-ended store.
	rec = newRec(false)
	rec.loaded(1, v, 0, false)
	rec.loaded(1, w, 0, false)
	rec.record(0, rtGet, func() linOutput { return linOutput{val: w, st: ufocache.LockHit} })
	for _, op := range rec.finish() {
		if op.Input.(linInput).kind == linRTLoad {
			t.Errorf("open-ended store %v with no background loads", op.Input)
		}
	}

	// RT.GetStale's Stale answer counts a failed load only of its own
	// key, whose Loader was called before it returned, and not led by a
	// call that returned before it was called.
	staleGet := linInput{kind: linRTGet, key: 1, ttl: 10, how: "RT.GetStale", staleIfError: true}
	stale := func() linOutput { return linOutput{val: v, st: ufocache.Stale, stale: 1} }
	failedLoad := func(rec *linRecorder) bool {
		for _, op := range rec.finish() {
			if in := op.Input.(linInput); in.staleIfError {
				return op.Output.(linOutput).failedLoad
			}
		}
		t.Fatal("no RT.GetStale recorded")
		return false
	}
	for _, tc := range []struct {
		name string
		run  func(rec *linRecorder)
		want bool
	}{
		{"its key's load failing during the call", func(rec *linRecorder) {
			rec.record(0, staleGet, func() linOutput { rec.loaded(1, errV, 0, true); return stale() })
		}, true},
		{"another key's load failing during the call", func(rec *linRecorder) {
			rec.record(0, staleGet, func() linOutput { rec.loaded(2, errV, 0, true); return stale() })
		}, false},
		{"its key's load failing after the call", func(rec *linRecorder) {
			rec.record(0, staleGet, stale)
			rec.loaded(1, errV, 0, true)
		}, false},
		{"its key's load, failed and returned before the call", func(rec *linRecorder) {
			rec.record(1, rtGet, func() linOutput {
				rec.loaded(1, errV, 0, true)
				return linOutput{st: ufocache.Miss, err: &linLoadError{errV}}
			})
			rec.record(0, staleGet, stale)
		}, false},
	} {
		rec := newRec(true)
		tc.run(rec)
		if got := failedLoad(rec); got != tc.want {
			t.Errorf("%s: failedLoad = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestLinExpectedErrors: only the errors a config can cause pass as
// expected; any other is recorded as an impossible answer.
func TestLinExpectedErrors(t *testing.T) {
	live, ended := context.Background(), func() context.Context {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		return ctx
	}()
	plain, timeouts := linConfig{}, linConfig{loadTimeout: time.Millisecond}
	for _, tc := range []struct {
		cfg  linConfig
		ctx  context.Context
		err  error
		want bool
	}{
		{plain, live, nil, true},
		{plain, live, &linLoadError{1}, true},
		{plain, live, errors.New("some other failure"), false},
		{plain, live, ufocache.ErrLoadTimeout, false},
		{timeouts, live, fmt.Errorf("wrapped: %w", ufocache.ErrLoadTimeout), true},
		{plain, live, context.Canceled, false},
		{plain, ended, context.Canceled, true},
		{plain, ended, context.DeadlineExceeded, false},
	} {
		if got := tc.cfg.expected(tc.ctx, tc.err); got != tc.want {
			t.Errorf("expected(ctx err %v, %v) with LoadTimeout %v = %v, want %v", tc.ctx.Err(), tc.err, tc.cfg.loadTimeout, got, tc.want)
		}
	}
}

// TestSoakJudges: the soak's read checks report the answers they exist to
// catch. Failures are counted, not reported: s.bad starts past the
// reporting limit.
func TestSoakJudges(t *testing.T) {
	c, err := ufocache.New(ufocache.Options[string, soakValue]{MaxWeight: 1 << 10, Clock: frozenClock{}})
	if err != nil {
		t.Fatal(err)
	}
	s := &soak{t: t, c: c, n: soakCounts{n: map[string]*atomic.Int64{}}}
	s.bad.Store(100)
	for i := range s.owned {
		s.owned[i].name = fmt.Sprint("k", soakKeys+i)
	}
	fails := func(name string, f func(), want bool) {
		t.Helper()
		before := s.bad.Load()
		f()
		if got := s.bad.Load() != before; got != want {
			t.Errorf("%s: reported %v, want %v", name, got, want)
		}
	}
	o := &s.owned[0]
	o.issued.Store(5)
	own := func(ver uint64) soakValue { return soakValue{key: keyIndex(o.name), ver: ver} }
	fails("another key's value", func() { s.check("Get", "k1", soakValue{key: 2}) }, true)
	fails("its own key's value", func() { s.check("Get", "k1", soakValue{key: 1}) }, false)
	fails("the floor's version", func() { s.checkFresh("Get", o, 4, own(4)) }, false)
	fails("the last issued version", func() { s.checkFresh("Get", o, 4, own(5)) }, false)
	fails("a version below the floor", func() { s.checkFresh("Get", o, 4, own(3)) }, true)
	fails("a version never issued", func() { s.checkFresh("Get", o, 4, own(6)) }, true)
	fails("version 0, which no write carries", func() { s.checkFresh("Get", o, 0, own(0)) }, true)

	// readOwned reads the floor before it reads: every owned key holds
	// version 1 while its floor says 2 was written, so any read fails.
	for i := range s.owned {
		o := &s.owned[i]
		if !c.Set(o.name, soakValue{key: keyIndex(o.name), ver: 1}) {
			t.Fatal("Set declined")
		}
		o.issued.Store(2)
		o.floor.Store(2)
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 8 {
		fails("a read of an older version", func() { s.readOwned(r) }, true)
	}

	// writeOwned leaves the floor at the version it wrote.
	rt, err := ufocache.NewRTCache(c, func(context.Context, string) (soakValue, time.Duration, error) {
		return soakValue{}, 0, errors.New("no loads here")
	}, ufocache.RTOptions[string, soakValue]{})
	if err != nil {
		t.Fatal(err)
	}
	s.rt = rt
	for range 64 {
		s.writeOwned(r)
	}
	for i := range s.owned {
		if o := &s.owned[i]; o.floor.Load() != o.issued.Load() {
			t.Errorf("%s: floor %d after its write of version %d returned", o.name, o.floor.Load(), o.issued.Load())
		}
	}
}
