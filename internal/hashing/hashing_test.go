package hashing

import (
	"math"
	"math/rand/v2"
	"testing"
)

// Word and Mix must agree: Word is Mix spelled out so that it inlines.
func TestWordIsMix(t *testing.T) {
	h := New[uint64](nil, false)
	for _, k := range []uint64{0, 1, 42, 1 << 40, ^uint64(0)} {
		if h.Word(k) != Mix(k, h.s1, h.s2) || h.Sum(k) != h.Word(k) {
			t.Fatalf("Word(%d) = %x, Mix = %x", k, h.Word(k), Mix(k, h.s1, h.s2))
		}
	}
	narrow := New[int16](nil, false)
	if narrow.Kind != Func || narrow.Sum(-1) != Mix(uint64(uint16(0xffff)), narrow.s1, narrow.s2) {
		t.Fatal("narrow integers are not widened and mixed")
	}
	i32, u32, i8 := New[int32](nil, false), New[uint32](nil, false), New[int8](nil, false)
	if i32.Sum(-1) != Mix(0xffff_ffff, i32.s1, i32.s2) || u32.Sum(7) != Mix(7, u32.s1, u32.s2) || i8.Sum(-1) != Mix(0xff, i8.s1, i8.s2) {
		t.Fatal("32- and 8-bit integers are not widened and mixed")
	}
}

// Word and Mix agree for odd and even first seeds alike (Word's second
// round takes s1|1, as Mix's does: with s1 itself, an even s1 would drop
// low bits of the product, and Word would disagree with Mix there).
func TestWordIsMixForEverySeedParity(t *testing.T) {
	for _, s1 := range []uint64{2, 3, 1 << 63, 0xdeadbeefcafef00d, 0xdeadbeefcafef00c} {
		h := Hasher[uint64]{Kind: Word64, s1: s1, s2: 0x9e3779b97f4a7c15}
		for _, k := range []uint64{0, 1, 42, 1 << 40, ^uint64(0)} {
			if h.Word(k) != Mix(k, h.s1, h.s2) {
				t.Fatalf("s1 %#x: Word(%d) = %x, Mix = %x", s1, k, h.Word(k), Mix(k, h.s1, h.s2))
			}
		}
	}
}

// The shards two caches put keys in are independent: for keys that differ
// only in their high bits (IDs with a shard or time prefix) or only in
// their low ones, the pair (top 4 bits under seeds A, under seeds B) spreads
// over its 256 cells as independent uniform picks would, for 8 fixed pairs
// of seed pairs (chi-square within 6 standard deviations of its 255
// degrees of freedom). One round of the product left them correlated:
// keys crafted to share a shard in one process would share one in another.
// (A first round that ignores s1 passes this test: the second round's s1
// and each round's s2 are enough to decorrelate the shards.)
func TestSeedsGiveIndependentShards(t *testing.T) {
	const keys, cells = 1 << 14, 256
	lo, hi := 255-6*math.Sqrt(2*255), 255+6*math.Sqrt(2*255)
	r := rand.New(rand.NewPCG(1, 2))
	for pair := range 8 {
		a1, a2, b1, b2 := r.Uint64(), r.Uint64()|1, r.Uint64(), r.Uint64()|1
		for _, shift := range []uint{40, 0} {
			var count [cells]int
			for i := range uint64(keys) {
				k := i << shift
				count[Mix(k, a1, a2)>>60<<4|Mix(k, b1, b2)>>60]++
			}
			chi, want := 0.0, float64(keys)/cells
			for _, n := range count {
				chi += (float64(n) - want) * (float64(n) - want) / want
			}
			if chi < lo || chi > hi {
				t.Errorf("seed pair %d, keys i<<%d: chi-square %.0f over 255 degrees of freedom, want %.0f to %.0f", pair, shift, chi, lo, hi)
			}
		}
	}
}

// Two hashers of the same key type disagree: seeds are per instance.
func TestSeedsDiffer(t *testing.T) {
	a, b := New[string](nil, false), New[string](nil, false)
	same := 0
	for _, k := range []string{"a", "b", "example.com", ""} {
		if a.Sum(k) == b.Sum(k) {
			same++
		}
	}
	if same > 0 {
		t.Fatalf("%d of 4 keys hash alike under two seeds", same)
	}
}

// A custom Hasher's hashes are spread: the identity on small integers (no
// collisions, no mixing) reaches every top-bit bucket and every low-bit
// bucket about evenly, and distinct hashes stay distinct.
func TestCustomHashesAreSpread(t *testing.T) {
	h := New(func(k uint64) uint64 { return k }, false)
	raw := New(func(k uint64) uint64 { return k }, true)
	if raw.Sum(12345) != 12345 {
		t.Fatal("a raw custom Hasher's hash was changed")
	}
	const n, buckets = 1 << 14, 16
	var top, low [buckets]int
	seen := make(map[uint64]bool, n)
	for k := range uint64(n) {
		x := h.Sum(k)
		if seen[x] {
			t.Fatalf("two keys below %d hash to %#x", n, x)
		}
		seen[x] = true
		top[x>>60]++
		low[(x&0xffffffff)*buckets>>32]++ // as the index picks a home group
	}
	for b := range buckets {
		// Expected n/16 = 1024 each, standard deviation about 31.
		if top[b] < 800 || top[b] > 1250 || low[b] < 800 || low[b] > 1250 {
			t.Fatalf("bucket %d: %d keys by the top bits, %d by the low bits; want about %d", b, top[b], low[b], n/buckets)
		}
	}
}

// Spread is a bijection: it is inverted step by step, with fixed seeds
// and with those New draws (its s2 must be odd, or the multiply loses the
// top bit).
func TestSpreadIsABijection(t *testing.T) {
	unshift := func(x uint64, r uint) uint64 { // inverts x ^= x >> r
		y := x
		for range 64 / r {
			y = x ^ y>>r
		}
		return y
	}
	inv := func(m uint64) uint64 { // inverse of an odd m modulo 2^64 (Newton)
		y := m
		for range 6 {
			y *= 2 - m*y
		}
		return y
	}
	seeds := [][2]uint64{{0x1234_5678_9abc_def0, 0x0fed_cba9_8765_4321}}
	for range 64 { // an even s2 in each with probability 1/2
		h := New(func(k uint64) uint64 { return k }, false)
		seeds = append(seeds, [2]uint64{h.s1, h.s2})
	}
	for _, s := range seeds {
		s1, s2 := s[0], s[1]
		for _, x := range []uint64{0, 1, 2, 42, 1 << 63, ^uint64(0), 0xdead_beef_cafe} {
			y := Spread(x, s1, s2)
			y = unshift(y, 29)
			y *= inv(0x9e3779b97f4a7c15)
			y = unshift(y, 32)
			y = y*inv(s2) ^ s1
			if y != x {
				t.Fatalf("Spread(%#x) with seeds %#x, %#x inverted to %#x", x, s1, s2, y)
			}
		}
	}
}
