package belady_test

import (
	"testing"

	"github.com/ufocache/ufocache/perf/belady"
)

// Ratio is hits over requests (the policy suite prints it against the
// published Belady): "aaaa" at one slot hits 3 of 4.
func TestRatio(t *testing.T) {
	if got := belady.Prepare(keys("aaaa")).Replay(1).Ratio(); got != 0.75 {
		t.Errorf("ratio %v, want 0.75", got)
	}
	if got := (belady.Result{Requests: 8, Hits: 2}).Ratio(); got != 0.25 {
		t.Errorf("ratio %v, want 0.25", got)
	}
	if got := (belady.Result{}).Ratio(); got != 0 {
		t.Errorf("empty trace ratio %v, want 0", got)
	}
}
