// Command petset runs Kubernetes StatefulSets in one binary.
package main

import (
	"context"
	"fmt"
	"os"

	"petset/internal/cli"
)

func main() {
	if err := cli.NewRoot().ExecuteContext(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, "petset:", err)
		os.Exit(1)
	}
}
