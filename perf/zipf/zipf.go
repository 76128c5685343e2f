// Package zipf generates Zipf-distributed key streams for any exponent
// s > 0, including s <= 1, which math/rand's Zipf does not accept.
//
// Rank r (0-based) is drawn with probability proportional to 1/(r+1)^s by
// inverting a precomputed cumulative table, so streams are exact and, for a
// given seed, reproducible. Ranks are mapped to keys by a fixed bijection so
// that popular keys are scattered over the uint64 space rather than being
// the smallest integers.
package zipf

import (
	"math"
	"math/rand/v2"
	"sort"
)

// Dist is a Zipf distribution over n ranks.
type Dist struct {
	cdf []float64 // cdf[r] = P(rank <= r); cdf[n-1] == 1
}

// New returns the distribution over n ranks with exponent s.
// It panics if n < 1 or s <= 0.
func New(n int, s float64) *Dist {
	if n < 1 || !(s > 0) {
		panic("zipf: need n >= 1 and s > 0")
	}
	cdf := make([]float64, n)
	sum := 0.0
	for r := range cdf {
		sum += math.Pow(float64(r+1), -s)
		cdf[r] = sum
	}
	for r := range cdf {
		cdf[r] /= sum
	}
	cdf[n-1] = 1
	return &Dist{cdf: cdf}
}

// N returns the number of ranks.
func (d *Dist) N() int { return len(d.cdf) }

// Rank draws a rank in [0, N()).
func (d *Dist) Rank(rng *rand.Rand) int {
	u := rng.Float64()
	return sort.SearchFloat64s(d.cdf, u)
}

// P returns the probability of rank r.
func (d *Dist) P(r int) float64 {
	if r == 0 {
		return d.cdf[0]
	}
	return d.cdf[r] - d.cdf[r-1]
}

// Key maps a rank to its key: a bijection on uint64, so distinct ranks give
// distinct keys.
func Key(rank int) uint64 {
	x := uint64(rank) + 1
	x ^= x >> 31
	x *= 0x7fb5d329728ea185
	x ^= x >> 27
	x *= 0x81dadef4bc2dd44d
	x ^= x >> 33
	return x
}

// Keys returns a stream of length n drawn from d with the given seed.
func Keys(d *Dist, n int, seed uint64) []uint64 {
	rng := rand.New(rand.NewPCG(seed, 0x5a17))
	out := make([]uint64, n)
	for i := range out {
		out[i] = Key(d.Rank(rng))
	}
	return out
}
