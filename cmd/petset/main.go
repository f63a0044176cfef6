// Command petset runs Kubernetes StatefulSets in one binary.
package main

import (
	"context"
	"fmt"
	"os"

	"petset/internal/agent/runtime/linux"
	"petset/internal/cli"
)

func main() {
	// The same binary is re-executed as each pod's init process.
	if linux.Main() {
		return
	}
	if err := cli.NewRoot().ExecuteContext(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, "petset:", err)
		os.Exit(1)
	}
}
