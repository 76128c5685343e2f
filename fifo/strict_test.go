package fifo

import "testing"

// The strict regime (S3.strict) starts below strictPercent of the
// capacity, exactly:
// at 100 entries a share of 2 is strict, 3 is not (the won book at its
// starting half, so the share alone decides); at 1000, 29 and 30.
func TestStrictBelowThreePercent(t *testing.T) {
	for _, c := range []struct {
		capacity, share int64
		strict          bool
	}{{100, 2, true}, {100, 3, false}, {1000, 29, true}, {1000, 30, false}, {1000, 20, true}} {
		p := newS3(c.capacity)
		p.smallCap = c.share
		if got := p.strict(); got != c.strict {
			t.Errorf("capacity %d, share %d: strict %v, want %v", c.capacity, c.share, got, c.strict)
		}
	}
}
