package linux

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"petset/internal/agent/runtime"
)

// kubectl run -it: the container prints before the attach arrives; the
// first attach must still see it, exactly once.
func TestFirstAttachReplaysEarlierOutput(t *testing.T) {
	requireRoot(t)
	rt := startRuntime(t, newTestConfig(t))
	sb := runSandbox(t, rt, "replay-0")
	st := start(t, rt, sb.UID, runtime.ContainerConfig{Name: "main", Stdin: true, StdinOnce: true,
		Argv: []string{"sh", "-c", "echo one; echo two >&2; cat; echo three"}})
	waitLog(t, rt, st.ID, "two")
	var out, errOut lockedBuffer
	if err := rt.Attach(context.Background(), st.ID, runtime.Streams{Stdin: strings.NewReader("typed\n"), Stdout: &out, Stderr: &errOut}); err != nil {
		t.Fatal(err)
	}
	if out.String() != "one\ntyped\nthree\n" || errOut.String() != "two\n" {
		t.Fatalf("attach stdout %q stderr %q; want %q and %q", out.String(), errOut.String(), "one\ntyped\nthree\n", "two\n")
	}
	if got := waitState(t, rt, st.ID, runtime.StateExited); got.ExitCode != 0 {
		t.Fatalf("exit %+v", got)
	}
}

// Attaching while the container is writing: the kept output and the live
// stream join without a lost or repeated byte.
func TestFirstAttachSeamWhileWriting(t *testing.T) {
	requireRoot(t)
	rt := startRuntime(t, newTestConfig(t))
	sb := runSandbox(t, rt, "replay-1")
	const n = 3000
	st := start(t, rt, sb.UID, runtime.ContainerConfig{Name: "main", Stdin: true, StdinOnce: true,
		Argv: []string{"sh", "-c", fmt.Sprintf("i=0; while [ $i -lt %d ]; do echo $i; i=$((i+1)); [ $((i %% 100)) = 0 ] && sleep 0.01; done; cat", n)}})
	waitLog(t, rt, st.ID, "\n50\n")
	var out lockedBuffer
	if err := rt.Attach(context.Background(), st.ID, runtime.Streams{Stdin: strings.NewReader(""), Stdout: &out}); err != nil {
		t.Fatal(err)
	}
	var want strings.Builder
	for i := range n {
		fmt.Fprintf(&want, "%d\n", i)
	}
	if out.String() != want.String() {
		got := out.String()
		t.Fatalf("attach got %d bytes, want %d; the first difference is at %d", len(got), want.Len(), firstDiff(got, want.String()))
	}
}

func firstDiff(a, b string) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// A container that printed and exited before the attach: the attach
// delivers its whole output and returns.
func TestAttachAfterExitDeliversOutput(t *testing.T) {
	requireRoot(t)
	rt := startRuntime(t, newTestConfig(t))
	sb := runSandbox(t, rt, "replay-2")
	st := start(t, rt, sb.UID, runtime.ContainerConfig{Name: "main", Stdin: true, StdinOnce: true,
		Argv: []string{"sh", "-c", "echo hello; echo oops >&2; echo world; exit 3"}})
	if got := waitState(t, rt, st.ID, runtime.StateExited); got.ExitCode != 3 {
		t.Fatalf("exit %+v", got)
	}
	var out, errOut lockedBuffer
	if err := rt.Attach(context.Background(), st.ID, runtime.Streams{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errOut}); err != nil {
		t.Fatal(err)
	}
	if out.String() != "hello\nworld\n" || errOut.String() != "oops\n" {
		t.Fatalf("attach stdout %q stderr %q", out.String(), errOut.String())
	}
	// With a terminal everything goes to stdout, with terminal line ends.
	tty := start(t, rt, sb.UID, runtime.ContainerConfig{Name: "tty", Stdin: true, StdinOnce: true, TTY: true,
		Argv: []string{"sh", "-c", "echo hello; echo world"}})
	waitState(t, rt, tty.ID, runtime.StateExited)
	var tout lockedBuffer
	if err := rt.Attach(context.Background(), tty.ID, runtime.Streams{Stdin: strings.NewReader(""), Stdout: &tout, TTY: true}); err != nil {
		t.Fatal(err)
	}
	if tout.String() != "hello\r\nworld\r\n" {
		t.Fatalf("attach with a terminal %q", tout.String())
	}
	// A container without StdinOnce is not attachable once exited.
	plain := start(t, rt, sb.UID, runtime.ContainerConfig{Name: "plain", Argv: []string{"echo", "x"}})
	waitState(t, rt, plain.ID, runtime.StateExited)
	if err := rt.Attach(context.Background(), plain.ID, runtime.Streams{Stdout: &tout}); err == nil {
		t.Fatalf("attach to an exited container without StdinOnce succeeded")
	}
}

// With a terminal (kubectl run -it under a terminal) the first attach sees
// what the container wrote to it before.
func TestFirstAttachReplaysWithTerminal(t *testing.T) {
	requireRoot(t)
	rt := startRuntime(t, newTestConfig(t))
	sb := runSandbox(t, rt, "replay-3")
	st := start(t, rt, sb.UID, runtime.ContainerConfig{Name: "main", Stdin: true, StdinOnce: true, TTY: true,
		Argv: []string{"sh", "-c", "echo early-words; read x; echo got-$x"}})
	waitLog(t, rt, st.ID, "early-words")
	var out lockedBuffer
	if err := rt.Attach(context.Background(), st.ID, runtime.Streams{Stdin: strings.NewReader("abc\n"), Stdout: &out, TTY: true}); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); !strings.HasPrefix(got, "early-words\r\n") || !strings.Contains(got, "got-abc") || strings.Count(got, "early-words") != 1 {
		t.Fatalf("attach with a terminal got %q", got)
	}
}
