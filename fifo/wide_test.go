package fifo

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"
)

// wide's sums of products and comparisons agree with math/big, around the
// carries from the low word and at the largest weights and rates a duel
// can meet (a bound near MaxInt64: int64 products there overflowed).
func TestWideAgreesWithBigInts(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	pick := func() uint64 {
		switch r.IntN(4) {
		case 0:
			return r.Uint64N(1 << 13) // a rate
		case 1:
			return math.MaxInt64 - r.Uint64N(4) // a weight near the largest bound
		case 2:
			return 1<<32 + r.Uint64N(1<<32) // a weight past 32 bits
		default:
			return r.Uint64()
		}
	}
	for range 20000 {
		var a wide
		want := new(big.Int)
		for range 1 + r.IntN(4) {
			x, y := pick(), pick()
			a.addMul(x, y)
			want.Add(want, new(big.Int).Mul(new(big.Int).SetUint64(x), new(big.Int).SetUint64(y)))
		}
		if want.BitLen() > 128 {
			continue // beyond any duel's sum, and beyond wide's
		}
		x, y := pick(), pick()
		xy := new(big.Int).Mul(new(big.Int).SetUint64(x), new(big.Int).SetUint64(y))
		if got := a.big(); got.Cmp(want) != 0 {
			t.Fatalf("sum %v, want %v", got, want)
		}
		if a.below(x, y) != (want.Cmp(xy) < 0) || a.above(x, y) != (want.Cmp(xy) > 0) {
			t.Fatalf("%v against %d*%d: below %v, above %v", want, x, y, a.below(x, y), a.above(x, y))
		}
		sum := new(big.Int).Add(want, xy)
		if sum.BitLen() <= 128 {
			if got := a.plus(x, y).big(); got.Cmp(sum) != 0 {
				t.Fatalf("plus: %v, want %v", got, sum)
			}
		}
	}
	// The case int64 got wrong: 2^12 times 2^52 of weight on each side.
	var a wide
	a.addMul(1<<12, 1<<52)
	if !a.below(1<<12+1, 1<<52) || a.above(1<<12, 1<<52) || a.below(1<<12, 1<<52) {
		t.Fatal("2^64 compared wrongly")
	}
}

func (a wide) big() *big.Int {
	b := new(big.Int).Lsh(new(big.Int).SetUint64(a.hi), 64)
	return b.Or(b, new(big.Int).SetUint64(a.lo))
}

// below(a, x, num, den) is a < x*num/den exactly, Share is x*num/den
// rounded down, both without overflow: at equality below is false, and
// Share agrees with math/big at the largest bounds.
func TestBelowAndShareAreExact(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 20000 {
		den := 1 + r.Uint64N(1000)
		num := r.Uint64N(den + 1)
		x := r.Int64N(math.MaxInt64)
		if r.IntN(2) == 0 {
			x = r.Int64N(1 << 20)
		}
		exact := new(big.Int).Mul(big.NewInt(x), new(big.Int).SetUint64(num))
		q := new(big.Int).Quo(exact, new(big.Int).SetUint64(den))
		if got := Share(x, num, den); big.NewInt(got).Cmp(q) != 0 {
			t.Fatalf("Share(%d, %d, %d) = %d, want %v", x, num, den, got, q)
		}
		// a at, just under and just over the exact quotient, when it is whole.
		for _, a := range []int64{q.Int64() - 1, q.Int64(), q.Int64() + 1} {
			if a < 0 {
				continue
			}
			ad := new(big.Int).Mul(big.NewInt(a), new(big.Int).SetUint64(den))
			if want := ad.Cmp(exact) < 0; below(a, x, num, den) != want {
				t.Fatalf("below(%d, %d, %d, %d) = %v, want %v", a, x, num, den, !want, want)
			}
		}
	}
	if below(3, 100, 3, 100) || !below(2, 100, 3, 100) {
		t.Fatal("below(3 of 3% of 100) must be false, below(2) true")
	}
}
