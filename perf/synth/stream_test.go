package synth

import (
	"testing"

	"github.com/ufocache/ufocache/perf/zipf"
)

// Every phase moves to keys of its own, not only the first: with every
// rank moving, three phases share no key, and rank 0 is held in phase p
// by the key of integer p*keys.
func TestShiftMovesAtEveryPhase(t *testing.T) {
	const keys, phase = 5_000, 20_000
	s := Shift(3*phase, keys, 0.9, phase, 10, 1)
	sets := []map[uint64]bool{set(s[:phase]), set(s[phase : 2*phase]), set(s[2*phase:])}
	for a := range sets {
		for b := a + 1; b < len(sets); b++ {
			for k := range sets[b] {
				if sets[a][k] {
					t.Fatalf("phases %d and %d share key %#x", a, b, k)
				}
			}
		}
	}
	for p, ks := range sets {
		if !ks[zipf.Key(p*keys)] {
			t.Errorf("phase %d lacks rank 0's key, integer %d", p, p*keys)
		}
	}
}

// With every reuse as deep as the stack allows, each reuse is of the
// limit-th most recent distinct key (or of the oldest, before there are
// limit): the stack keeps the last limit keys all along, not only until
// it first fills.
func TestRecencyKeepsTheLastLimitKeys(t *testing.T) {
	const limit = 100
	s := Recency(20_000, 0.5, 1e9, limit, 5)
	var stack []uint64 // every distinct key, the most recent last
	pos := map[uint64]bool{}
	reuses := 0
	for i, k := range s {
		if !pos[k] {
			pos[k] = true
			stack = append(stack, k)
			continue
		}
		reuses++
		want := stack[len(stack)-min(len(stack), limit)]
		if k != want {
			t.Fatalf("request %d reuses %#x, want the %d-th most recent key %#x", i, k, min(len(stack), limit), want)
		}
		for j := range stack {
			if stack[j] == k {
				stack = append(append(stack[:j:j], stack[j+1:]...), k)
				break
			}
		}
	}
	if reuses < 9_000 {
		t.Fatalf("%d reuses, want about half of 20000", reuses)
	}
}

// With reuse 1 every request after the first reuses a key, and there is
// only one to reuse.
func TestRecencyAlwaysReusing(t *testing.T) {
	s := Recency(50, 1.0, 5, 10, 1)
	for i, k := range s {
		if k != s[0] {
			t.Fatalf("request %d is a new key %#x; with reuse 1 every request is the first key", i, k)
		}
	}
}
