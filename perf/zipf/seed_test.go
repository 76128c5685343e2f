package zipf_test

import (
	"slices"
	"testing"

	"github.com/ufocache/ufocache/perf/zipf"
)

// The seed chooses the stream: two seeds give two streams.
func TestKeysDependOnTheSeed(t *testing.T) {
	d := zipf.New(1000, 1)
	if slices.Equal(zipf.Keys(d, 1000, 1), zipf.Keys(d, 1000, 2)) {
		t.Fatal("seeds 1 and 2 give the same stream")
	}
}
