package trace_test

import (
	"strings"
	"testing"

	"github.com/ufocache/ufocache/perf/trace"
)

// A run of exactly maxARCRun (1<<24) keys is accepted; one more is not.
// Only the first two keys are read, so nothing large is built.
func TestARCRunAtTheLimit(t *testing.T) {
	r, err := trace.NewReader(trace.ARC, strings.NewReader("7 16777216\n"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []uint64{7, 8} {
		req, err := r.Read()
		if err != nil || req.Key != want {
			t.Fatalf("got %v, %v; want key %d", req, err, want)
		}
	}
	r, _ = trace.NewReader(trace.ARC, strings.NewReader("7 16777217\n"))
	if _, err := r.Read(); err == nil {
		t.Error("a run of 1<<24 + 1 keys was accepted")
	}
}
