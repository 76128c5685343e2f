package ufocache_test

import (
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ufocache/ufocache"
)

// fakeClock is an injected clock that only moves when a test moves it.
type fakeClock struct{ t atomic.Int64 }

func (c *fakeClock) Nanotime() int64         { return c.t.Load() }
func (c *fakeClock) Advance(d time.Duration) { c.t.Add(int64(d)) }

type modelEntry struct {
	v      uint64
	w      int64
	expire int64 // 0: never
}

type event struct {
	k      uint16
	v      uint64
	reason ufocache.EvictReason
}

// harness runs operations on a cache and on a map-based model side by side.
// OnEvict tells the model about every entry the cache lets go, so the model
// is exact: each Get must agree with it, not merely be plausible.
type harness struct {
	t      testing.TB
	c      *ufocache.Cache[uint16, uint64]
	clock  *fakeClock
	model  map[uint16]modelEntry
	events []event
	next   uint64 // values are unique, so events name the entry they are about
	weigh  func(uint64) int64
	keep   time.Duration // Options.KeepExpired
	max    int64         // New's MaxWeight
	// evicting: the events drained come from an eviction (SetMaxWeight's),
	// which may take an expired entry within KeepExpired.
	evicting bool
}

// harnessConfig is a cache configuration for the harness.
type harnessConfig struct {
	max      int64
	shards   int
	weighted bool                // weights 0..4 from the value; 0 counts as 1
	keep     time.Duration       // Options.KeepExpired
	hasher   func(uint16) uint64 // nil: the default
	initial  int                 // Options.InitialCapacity
}

func newHarness(t testing.TB, cfg harnessConfig) *harness {
	h := &harness{t: t, clock: &fakeClock{}, model: map[uint16]modelEntry{}, keep: cfg.keep, max: cfg.max}
	h.clock.t.Store(1)
	h.weigh = func(uint64) int64 { return 1 }
	opts := ufocache.Options[uint16, uint64]{
		MaxWeight:       cfg.max,
		Shards:          cfg.shards,
		Clock:           h.clock,
		KeepExpired:     cfg.keep,
		Hasher:          cfg.hasher,
		InitialCapacity: cfg.initial,
		OnEvict: func(k uint16, v uint64, r ufocache.EvictReason) {
			h.events = append(h.events, event{k, v, r})
		},
	}
	if cfg.weighted {
		// 0..4; 0 counts as 1; 4 may exceed a small shard's share.
		h.weigh = func(v uint64) int64 { return max(int64(v%5), 1) }
		opts.Weigher = func(_ uint16, v uint64) uint32 { return uint32(v % 5) }
	}
	if cfg.hasher != nil {
		opts = ufocache.WithRawHasher(opts) // aimed at the bits themselves
	}
	c, err := ufocache.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	h.c = c
	return h
}

func (h *harness) now() int64 { return h.clock.Nanotime() }

func (h *harness) live(m modelEntry) bool { return m.expire == 0 || h.now() < m.expire }

// drain applies the pending evictions to the model. newV is the value a Set
// just offered (0: none); it reports whether that value was let go.
func (h *harness) drain(newV uint64) (newGone bool) {
	for _, ev := range h.events {
		if newV != 0 && ev.v == newV {
			if ev.reason != ufocache.EvictRejected && ev.reason != ufocache.EvictCapacity {
				h.t.Fatalf("newcomer %d=%d left with reason %v", ev.k, ev.v, ev.reason)
			}
			newGone = true
			continue
		}
		m, ok := h.model[ev.k]
		if !ok || m.v != ev.v {
			h.t.Fatalf("evicted %d=%d (%v), model has %v (present %v)", ev.k, ev.v, ev.reason, m, ok)
		}
		if ev.reason == ufocache.EvictExpired && h.live(m) {
			h.t.Fatalf("%d reported expired before its time", ev.k)
		}
		if ev.reason == ufocache.EvictExpired && h.now()-m.expire < int64(h.keep) && newV == 0 && !h.evicting {
			// Within KeepExpired only eviction, which runs inside a Set,
			// may take an expired entry.
			h.t.Fatalf("%d reclaimed within KeepExpired by an operation that stores nothing", ev.k)
		}
		if ev.reason == ufocache.EvictRejected {
			h.t.Fatalf("%d: a stored entry reported as rejected", ev.k)
		}
		delete(h.model, ev.k)
	}
	h.events = h.events[:0]
	return newGone
}

func (h *harness) set(k uint16, ttl time.Duration, force bool) {
	h.next++
	v := h.next
	var ok bool
	switch {
	case force:
		ok = h.c.ForceSet(k, v, ttl)
	case ttl == 0 && h.next%2 == 0:
		ok = h.c.Set(k, v)
	default:
		ok = h.c.SetWithTTL(k, v, ttl)
	}
	gone := h.drain(v)
	if ok == gone {
		h.t.Fatalf("Set(%d) = %v but newcomer reported gone = %v", k, ok, gone)
	}
	if ok {
		h.stored("Set", k, v, ttl)
	}
	if !ok && ttl >= 0 && !h.tooHeavy(v) {
		h.t.Fatalf("Set(%d) (force %v, ttl %v) declined a value that fits", k, force, ttl)
	}
}

// kept is the TTL a ComputeUpdate of k with ttl stores with in the
// model: the time k's live value has left (NoExpiration if it never
// expires), or ttl if k has none.
func (h *harness) kept(k uint16, ttl time.Duration) time.Duration {
	switch m, had := h.model[k]; {
	case !had || !h.live(m):
		return ttl
	case m.expire == 0:
		return ufocache.NoExpiration
	default:
		return time.Duration(m.expire - h.now())
	}
}

// setIfAbsent checks SetIfAbsent against the model: a live value stays
// and is returned, with nothing reported; otherwise it is SetWithTTL.
func (h *harness) setIfAbsent(k uint16, ttl time.Duration) {
	m, had := h.model[k]
	if had && h.live(m) {
		if got, stored := h.c.SetIfAbsent(k, h.next+1, ttl); got != m.v || stored || len(h.events) != 0 {
			h.t.Fatalf("SetIfAbsent(%d) over a live %d = %d, %v (%d reports); want it returned, nothing stored or reported", k, m.v, got, stored, len(h.events))
		}
		h.next++
		return
	}
	h.next++
	v := h.next
	got, stored := h.c.SetIfAbsent(k, v, ttl)
	if gone := h.drain(v); stored == gone || stored && got != v || !stored && got != 0 {
		h.t.Fatalf("SetIfAbsent(%d) = %d, %v, newcomer reported gone %v", k, got, stored, gone)
	}
	if !stored && ttl >= 0 && !h.tooHeavy(v) {
		h.t.Fatalf("SetIfAbsent(%d) declined a value that fits", k)
	}
	if stored {
		h.stored("SetIfAbsent", k, v, ttl)
	}
}

// compute checks Compute against the model: f is called once, with the
// live value; ComputeKeep changes nothing, ComputeRemove is Delete (of an
// expired value too), and ComputeStore is SetWithTTL with sel's TTL.
func (h *harness) compute(k uint16, sel int) {
	m, had := h.model[k]
	live := had && h.live(m)
	h.next++
	v := h.next
	ttls := [...]time.Duration{0, time.Second, -time.Second, ufocache.NoExpiration}
	op := ufocache.ComputeStore
	if sel >= 2+len(ttls) { // ComputeUpdate, with the same TTLs
		op, sel = ufocache.ComputeUpdate, sel-len(ttls)
	}
	calls := 0
	got, ok := h.c.Compute(k, func(old uint64, found bool) (uint64, time.Duration, ufocache.ComputeOp) {
		calls++
		if found != live || live && old != m.v || !live && old != 0 {
			h.t.Fatalf("Compute(%d)'s function got %d, %v; model %v present %v", k, old, found, m, had)
		}
		switch sel {
		case 0:
			return v, time.Second, ufocache.ComputeKeep // the value is ignored
		case 1:
			return 0, 0, ufocache.ComputeRemove
		}
		return v, ttls[sel-2], op
	})
	if calls != 1 {
		h.t.Fatalf("Compute(%d) called its function %d times", k, calls)
	}
	switch sel {
	case 0:
		if ok != live || got != m.v && live || !live && got != 0 || len(h.events) != 0 {
			h.t.Fatalf("Compute(%d) keeping = %d, %v (%d reports); model %v present %v", k, got, ok, len(h.events), m, had)
		}
	case 1:
		if got != 0 || ok {
			h.t.Fatalf("Compute(%d) removing = %d, %v", k, got, ok)
		}
		if had != (len(h.events) == 1) || had && (h.events[0].v != m.v || h.events[0].reason != ufocache.EvictDeleted) {
			h.t.Fatalf("Compute(%d) removing reported %v; model %v present %v", k, h.events, m, had)
		}
		h.drain(0)
	default:
		ttl := ttls[sel-2]
		if op == ufocache.ComputeUpdate {
			ttl = h.kept(k, ttl)
		}
		gone := h.drain(v)
		if ok == gone || ok && got != v || !ok && got != 0 {
			h.t.Fatalf("Compute(%d) storing = %d, %v, newcomer reported gone %v", k, got, ok, gone)
		}
		if !ok && ttl >= 0 && !h.tooHeavy(v) {
			h.t.Fatalf("Compute(%d) declined a value that fits", k)
		}
		if !ok {
			if _, still := h.model[k]; still {
				h.t.Fatalf("Compute(%d) declined a value and kept the old one", k)
			}
			return
		}
		h.stored("Compute", k, v, ttl)
	}
}

// stored enters k=v, just stored by op with ttl, in the model: any older
// value of k must have been reported gone.
func (h *harness) stored(op string, k uint16, v uint64, ttl time.Duration) {
	if _, still := h.model[k]; still {
		h.t.Fatalf("%s(%d) replaced a value without reporting it", op, k)
	}
	m := modelEntry{v: v, w: h.weigh(v)}
	if ttl > 0 && ttl != ufocache.NoExpiration {
		m.expire = h.now() + int64(ttl)
	}
	h.model[k] = m
}

// deleteFunc checks DeleteFunc against the model: it removes every entry
// of a key whose value's residue mod 4 is r, expired ones too, each
// reported deleted, and counts them.
func (h *harness) deleteFunc(r int) {
	want := 0
	for _, m := range h.model {
		if int(m.v%4) == r {
			want++
		}
	}
	n := h.c.DeleteFunc(func(k uint16, v uint64) bool {
		if m, ok := h.model[k]; !ok || m.v != v {
			h.t.Fatalf("DeleteFunc was shown %d=%d; model %v present %v", k, v, m, ok)
		}
		return int(v%4) == r
	})
	for _, ev := range h.events {
		if ev.reason != ufocache.EvictDeleted || int(ev.v%4) != r {
			h.t.Fatalf("DeleteFunc(residue %d) reported %d=%d %v", r, ev.k, ev.v, ev.reason)
		}
	}
	if n != want || len(h.events) != want {
		h.t.Fatalf("DeleteFunc(residue %d) removed %d and reported %d; model has %d", r, n, len(h.events), want)
	}
	h.drain(0)
}

// tooHeavy reports whether v's weight could exceed one shard's share.
func (h *harness) tooHeavy(v uint64) bool {
	return h.weigh(v) > h.c.MaxWeight()/int64(h.shards())
}

func (h *harness) shards() int { return ufocache.ShardCountOf(h.c) }

func (h *harness) get(k uint16) {
	v, st := h.c.GetWithStatus(k)
	h.drain(0)
	m, ok := h.model[k]
	if pv, pok := h.c.Peek(k); pok != (ok && h.live(m)) || pok && pv != m.v {
		h.t.Fatalf("Peek(%d) = %d, %v; model %v present %v", k, pv, pok, m, ok)
	}
	switch {
	case !ok:
		if st != ufocache.Miss {
			h.t.Fatalf("Get(%d) = %d, %v; model: absent", k, v, st)
		}
	case h.live(m):
		if st != ufocache.Hit || v != m.v {
			h.t.Fatalf("Get(%d) = %d, %v; model: %d", k, v, st, m.v)
		}
	default:
		if st != ufocache.Expired || v != 0 {
			h.t.Fatalf("Get(%d) = %d, %v; model: expired", k, v, st)
		}
	}
	if gv, gok := h.c.Get(k); gok != (ok && h.live(m)) || gok && gv != m.v {
		h.t.Fatalf("plain Get(%d) = %d, %v; model %v present %v", k, gv, gok, m, ok)
	}
	tv, ttl, tok := h.c.GetWithTTL(k)
	wantTTL := ufocache.NoExpiration
	if m.expire != 0 {
		wantTTL = time.Duration(m.expire - h.now())
	}
	if live := ok && h.live(m); tok != live || (live && (tv != m.v || ttl != wantTTL)) || (!live && (tv != 0 || ttl != 0)) {
		h.t.Fatalf("GetWithTTL(%d) = %d, %v, %v; model %v present %v (want ttl %v)", k, tv, ttl, tok, m, ok, wantTTL)
	}
	sv, staleFor, sok := h.c.GetStale(k)
	if sok != ok || (ok && (sv != m.v || (h.live(m) && staleFor != 0) ||
		(!h.live(m) && staleFor != max(time.Duration(h.now()-m.expire), 1)))) {
		h.t.Fatalf("GetStale(%d) = %d, %v, %v; model %v present %v", k, sv, staleFor, sok, m, ok)
	}
}

func (h *harness) del(k uint16) {
	v, ok := h.c.Delete(k)
	m, had := h.model[k]
	wantOK := had && h.live(m)
	if ok != wantOK || (ok && v != m.v) {
		h.t.Fatalf("Delete(%d) = %d, %v; model %v present %v", k, v, ok, m, had)
	}
	if had && (len(h.events) == 0 || h.events[len(h.events)-1].reason != ufocache.EvictDeleted) {
		h.t.Fatalf("Delete(%d) did not report the removal", k)
	}
	h.drain(0)
}

func (h *harness) verify(full bool) {
	var w int64
	for _, m := range h.model {
		w += m.w
	}
	if h.c.Len() != len(h.model) || h.c.Weight() != w {
		h.t.Fatalf("Len %d Weight %d; model %d entries weighing %d", h.c.Len(), h.c.Weight(), len(h.model), w)
	}
	if w > h.c.MaxWeight() {
		h.t.Fatalf("weight %d above MaxWeight %d", w, h.c.MaxWeight())
	}
	if full {
		if err := ufocache.CheckInvariantsOf(h.c); err != nil {
			h.t.Fatal(err)
		}
		n := 0
		for k, v := range h.c.All() {
			n++
			if m, ok := h.model[k]; !ok || m.v != v || !h.live(m) {
				h.t.Fatalf("All yielded %d=%d; model %v present %v", k, v, m, ok)
			}
		}
		live := 0
		for _, m := range h.model {
			if h.live(m) {
				live++
			}
		}
		if n != live {
			h.t.Fatalf("All yielded %d entries, model has %d live", n, live)
		}
	}
}

// run interprets ops as a program: each byte picks an operation and a key.
func (h *harness) run(ops []byte) {
	for i, b := range ops {
		k := uint16(b>>3) & 31
		switch b & 7 {
		case 0, 1:
			h.set(k, 0, false)
		case 2:
			ttls := [...]time.Duration{time.Second, 3 * time.Second, -time.Second, ufocache.NoExpiration}
			h.set(k, ttls[int(b>>3)%len(ttls)], false)
		case 3:
			if b&0x80 != 0 {
				ttls := [...]time.Duration{0, time.Second, 2 * time.Second, -time.Second}
				h.setIfAbsent(k, ttls[int(b>>3)%len(ttls)])
				break
			}
			h.set(k, time.Duration(int(k)%3)*time.Second, true)
		case 4, 5:
			h.get(k)
		case 6:
			if i%2 == 1 {
				h.compute(k, int(h.next%10))
				break
			}
			h.del(k)
		case 7:
			switch k % 8 {
			case 0:
				h.c.Clear()
				h.drainAll(ufocache.EvictDeleted)
			case 2:
				h.resize(k)
			case 3:
				h.deleteFunc(int(k / 8))
			case 1:
				h.c.DeleteExpired()
				h.drain(0)
				for _, m := range h.model {
					if !h.live(m) && h.now()-m.expire >= int64(h.keep) {
						h.t.Fatalf("DeleteExpired left an entry expired beyond KeepExpired")
					}
				}
			default:
				h.clock.Advance(time.Duration(k) * 250 * time.Millisecond)
			}
		}
		h.verify(i%16 == 15 || i == len(ops)-1)
	}
}

// resize sets the bound to a half, one, one and a half or two times New's
// (at least the shard count): what leaves is reported as evicted for
// capacity (or expired), and the bound holds when the call returns (verify).
func (h *harness) resize(k uint16) {
	w := max(int64(ufocache.ShardCountOf(h.c)), h.max/2+int64(k/8)*h.max/2)
	if err := h.c.SetMaxWeight(w); err != nil {
		h.t.Fatalf("SetMaxWeight(%d): %v", w, err)
	}
	if got := h.c.MaxWeight(); got != w {
		h.t.Fatalf("MaxWeight after SetMaxWeight(%d) = %d", w, got)
	}
	for _, ev := range h.events {
		if ev.reason != ufocache.EvictCapacity && ev.reason != ufocache.EvictExpired {
			h.t.Fatalf("SetMaxWeight reported %d with %v", ev.k, ev.reason)
		}
	}
	h.evicting = true
	h.drain(0)
	h.evicting = false
}

// drainAll checks that every model entry was reported with reason r.
func (h *harness) drainAll(r ufocache.EvictReason) {
	for _, ev := range h.events {
		if ev.reason != r {
			h.t.Fatalf("Clear reported %d with %v", ev.k, ev.reason)
		}
	}
	h.drain(0)
	if len(h.model) != 0 {
		h.t.Fatalf("Clear left %d entries unreported", len(h.model))
	}
}

func TestModel(t *testing.T) {
	configs := []struct {
		name string
		harnessConfig
	}{
		{"1shard", harnessConfig{max: 12, shards: 1}},
		{"4shards", harnessConfig{max: 16, shards: 4}},
		{"weighted", harnessConfig{max: 20, shards: 2, weighted: true}},
		{"tiny", harnessConfig{max: 1, shards: 1}},
		{"keepExpired", harnessConfig{max: 12, shards: 2, keep: 2 * time.Second}},
		{"presized", harnessConfig{max: 16, shards: 4, initial: 16}},
		{"presizedWeighted", harnessConfig{max: 20, shards: 2, weighted: true, initial: 20}},
		{"smallWeighted", harnessConfig{max: 8, shards: 2, weighted: true}}, // SetMaxWeight to 4 declines weights 3 and 4
	}
	for _, cfg := range configs {
		t.Run(cfg.name, func(t *testing.T) {
			for seed := range uint64(200) {
				r := rand.New(rand.NewPCG(seed, 7))
				ops := make([]byte, 400)
				for i := range ops {
					ops[i] = byte(r.Uint32())
				}
				newHarness(t, cfg.harnessConfig).run(ops)
			}
		})
	}
}

func FuzzModel(f *testing.F) {
	f.Add([]byte{0, 8, 16, 4, 12, 20, 6, 14, 7, 2, 10, 3}, uint8(0))
	f.Add([]byte("the quick brown fox jumps over the lazy dog"), uint8(1))
	f.Add([]byte{2, 2, 2, 2, 15, 4, 5, 31, 23, 4}, uint8(2))
	f.Fuzz(func(t *testing.T, ops []byte, cfg uint8) {
		if len(ops) > 2000 {
			ops = ops[:2000]
		}
		max := int64(cfg%16) + 1
		shards := 1 << (cfg >> 4 % 3)
		if int64(shards) > max {
			shards = 1
		}
		// cfg's bits are all taken (the corpus fixes the signature): an
		// odd number of operations runs a cache presized for its bound.
		initial := int(max) * (len(ops) % 2)
		newHarness(t, harnessConfig{max: max, shards: shards, weighted: cfg&0x80 != 0, keep: time.Duration(cfg>>6&1) * time.Second, initial: initial}).run(ops)
	})
}
