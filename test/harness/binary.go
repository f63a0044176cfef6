package harness

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// bin is the binary under test, set by Main.
var bin string

// Bin is the petset binary under test: $PETSET_BIN, or the one Main built.
func Bin() string {
	if bin == "" {
		panic("harness.Bin called before harness.Main (call it from TestMain)")
	}
	return bin
}

// Main finds the binary under test — $PETSET_BIN, or else `go build` of
// ./cmd/petset once into a temp dir — and runs the tests. Call it from
// TestMain: os.Exit(harness.Main(m)).
func Main(m *testing.M) int {
	if p := os.Getenv("PETSET_BIN"); p != "" {
		abs, err := filepath.Abs(p)
		if err != nil {
			fmt.Fprintf(os.Stderr, "harness: PETSET_BIN: %v\n", err)
			return 1
		}
		bin = abs
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "petset-test-bin-")
	if err != nil {
		fmt.Fprintf(os.Stderr, "harness: %v\n", err)
		return 1
	}
	defer os.RemoveAll(dir)
	bin = filepath.Join(dir, "petset")
	build := exec.Command("go", "build", "-o", bin, "./cmd/petset")
	build.Dir = moduleRoot()
	build.Stdout = os.Stderr
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintf(os.Stderr, "harness: building petset (set PETSET_BIN to skip): %v\n", err)
		return 1
	}
	return m.Run()
}

// moduleRoot is the repository root: two folders above this file.
func moduleRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}
