package hashing

import (
	"testing"
	"unsafe"
)

// Every 8-byte integer type, named or not, takes the inlined Word64 path
// (New's doc: "8-byte integers a seeded multiply-mix"), and the narrower
// ones, signed or unsigned, are widened (zero-extended) and Mixed.
func TestIntegerKindsDispatch(t *testing.T) {
	type id uint64
	type small uint8
	if unsafe.Sizeof(int(0)) == 8 {
		for name, k := range map[string]Kind{
			"int": New[int](nil, false).Kind, "uint": New[uint](nil, false).Kind, "uintptr": New[uintptr](nil, false).Kind,
			"int64": New[int64](nil, false).Kind, "uint64": New[uint64](nil, false).Kind, "named uint64": New[id](nil, false).Kind,
		} {
			if k != Word64 {
				t.Errorf("%s keys: Kind %d, want Word64", name, k)
			}
		}
		hi := New[int](nil, false)
		if hi.Sum(-1) != Mix(^uint64(0), hi.s1, hi.s2) {
			t.Error("int keys are not Mixed as their 8 bytes")
		}
	}
	u8, u16, s8 := New[uint8](nil, false), New[uint16](nil, false), New[small](nil, false)
	if u8.Sum(0xff) != Mix(0xff, u8.s1, u8.s2) || u16.Sum(0xfffe) != Mix(0xfffe, u16.s1, u16.s2) || s8.Sum(7) != Mix(7, s8.s1, s8.s2) {
		t.Error("uint8 and uint16 keys are not widened and Mixed")
	}
}

// Str is Sum for string keys, named string types included: GetBytes
// hashes a []byte's bytes with Str and must find the key Set with Sum.
func TestStrIsSum(t *testing.T) {
	type host string
	s, n := New[string](nil, false), New[host](nil, false)
	if s.Kind != String || n.Kind != String {
		t.Fatalf("Kinds %d, %d; want String", s.Kind, n.Kind)
	}
	for _, k := range []string{"", "a", "example.com", string(make([]byte, 100))} {
		if s.Str(k) != s.Sum(k) || n.Str(k) != n.Sum(host(k)) {
			t.Errorf("Str(%q) differs from Sum", k)
		}
	}
}

// Seeds are per instance for every kind of key, not only strings: two
// hashers of the same integer, narrow integer or struct type disagree on
// (nearly) every key. Equal seeds would agree on all of them.
func TestSeedsDifferForEveryKind(t *testing.T) {
	type pair struct{ a, b int32 }
	same := func(f func(i int) bool) int {
		n := 0
		for i := range 64 {
			if f(i) {
				n++
			}
		}
		return n
	}
	w1, w2 := New[uint64](nil, false), New[uint64](nil, false)
	n1, n2 := New[int16](nil, false), New[int16](nil, false)
	c1, c2 := New[pair](nil, false), New[pair](nil, false)
	u1, u2 := New(func(k uint64) uint64 { return k }, false), New(func(k uint64) uint64 { return k }, false)
	for name, n := range map[string]int{
		"uint64": same(func(i int) bool { return w1.Sum(uint64(i)) == w2.Sum(uint64(i)) }),
		"int16":  same(func(i int) bool { return n1.Sum(int16(i)) == n2.Sum(int16(i)) }),
		"struct": same(func(i int) bool { return c1.Sum(pair{int32(i), 1}) == c2.Sum(pair{int32(i), 1}) }),
		"custom": same(func(i int) bool { return u1.Sum(uint64(i)) == u2.Sum(uint64(i)) }),
	} {
		if n > 1 {
			t.Errorf("%s keys: %d of 64 hash alike under two hashers", name, n)
		}
	}
}

// Mix stays injective on small keys whatever the first seed drawn,
// 0 and other even values included: New draws s1 with no constraint, so a
// second round multiplying by an even s1 (or by 0) would merge keys.
func TestMixKeepsKeysApartForEveryFirstSeed(t *testing.T) {
	for _, s1 := range []uint64{0, 2, 1 << 63} {
		h := Hasher[uint64]{Kind: Word64, s1: s1, s2: 0x9e3779b97f4a7c15}
		seen := map[uint64]uint64{}
		for k := range uint64(1024) {
			x := h.Word(k)
			if x != Mix(k, s1, h.s2) {
				t.Fatalf("s1 %#x: Word and Mix disagree on %d", s1, k)
			}
			if o, dup := seen[x]; dup {
				t.Fatalf("s1 %#x: keys %d and %d both hash to %#x", s1, o, k, x)
			}
			seen[x] = k
		}
	}
}
