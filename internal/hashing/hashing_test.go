package hashing

import "testing"

// Word and Mix must agree: Word is Mix spelled out so that it inlines.
func TestWordIsMix(t *testing.T) {
	h := New[uint64](nil)
	for _, k := range []uint64{0, 1, 42, 1 << 40, ^uint64(0)} {
		if h.Word(k) != Mix(k, h.s1, h.s2) || h.Sum(k) != h.Word(k) {
			t.Fatalf("Word(%d) = %x, Mix = %x", k, h.Word(k), Mix(k, h.s1, h.s2))
		}
	}
	narrow := New[int16](nil)
	if narrow.Kind != Func || narrow.Sum(-1) != Mix(uint64(uint16(0xffff)), narrow.s1, narrow.s2) {
		t.Fatal("narrow integers are not widened and mixed")
	}
}

// Two hashers of the same key type disagree: seeds are per instance.
func TestSeedsDiffer(t *testing.T) {
	a, b := New[string](nil), New[string](nil)
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
