package e2e

// The e2e tier runs on the shared process harness (petset/test/harness):
// the built petset binary as real processes, the real kubectl binaries
// against it, and bounded waits for conditions.

import (
	"os"
	"testing"

	"petset/test/harness"
)

func TestMain(m *testing.M) {
	if host := os.Getenv(etcdAttackEnv); host != "" {
		os.Exit(runEtcdAttack(host))
	}
	os.Exit(harness.Main(m))
}
