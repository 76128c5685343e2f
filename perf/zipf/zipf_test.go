package zipf_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/ufocache/ufocache/perf/zipf"
)

func TestFrequencies(t *testing.T) {
	for _, s := range []float64{0.8, 1.0, 1.2} {
		d := zipf.New(1000, s)
		rng := rand.New(rand.NewPCG(1, 2))
		const draws = 200000
		counts := make([]int, d.N())
		for range draws {
			counts[d.Rank(rng)]++
		}
		// The head ranks must match their probabilities within 5 sigma.
		for r := range 5 {
			p := d.P(r)
			sigma := math.Sqrt(draws * p * (1 - p))
			if math.Abs(float64(counts[r])-draws*p) > 5*sigma {
				t.Errorf("s=%v rank %d: %d draws, expected %.0f", s, r, counts[r], draws*p)
			}
		}
		// P(0)/P(1) is 2^s.
		if got := d.P(0) / d.P(1); math.Abs(got-math.Pow(2, s)) > 1e-9 {
			t.Errorf("s=%v: P(0)/P(1) = %v", s, got)
		}
	}
}

func TestKeyIsInjective(t *testing.T) {
	seen := map[uint64]bool{}
	for r := range 100000 {
		k := zipf.Key(r)
		if seen[k] {
			t.Fatalf("rank %d repeats a key", r)
		}
		seen[k] = true
	}
}

func TestKeysDeterministic(t *testing.T) {
	d := zipf.New(100, 1)
	a, b := zipf.Keys(d, 1000, 7), zipf.Keys(d, 1000, 7)
	for i := range a {
		if a[i] != b[i] {
			t.Fatal("same seed, different streams")
		}
	}
}
