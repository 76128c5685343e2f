package reliability

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run if any test left a goroutine behind: a load that
// never returned, a refresh nobody waits for, a clock ticker.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
