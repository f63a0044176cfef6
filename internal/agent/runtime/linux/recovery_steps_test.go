package linux

import (
	"context"
	"os"
	goruntime "runtime"
	"testing"

	"github.com/vishvananda/netlink"

	"petset/internal/agent/runtime"
)

// TestKilledDuringSandboxCreation kills the creating agent (the goroutine
// creating the sandbox stops dead, nothing of it runs any more, as with
// kill -9) after each creation step, then starts a new runtime over the
// same state directory, twice: a complete sandbox is adopted; a partial one
// is torn down — init and its namespaces, veth, claimed address, socket,
// pod directory — and the pod can be created afresh, exactly once.
func TestKilledDuringSandboxCreation(t *testing.T) {
	requireRoot(t)
	for _, step := range creationSteps {
		t.Run(step, func(t *testing.T) {
			ctx := context.Background()
			cfg := newTestConfig(t)
			rt1, err := New(ctx, cfg)
			if err != nil {
				t.Fatal(err)
			}
			uid := "uid-" + randHex(8)
			sc := runtime.SandboxConfig{UID: uid, Namespace: "default", Name: "kill-0", Hostname: "kill-0",
				HostsFile: []byte("127.0.0.1\tlocalhost\n"), ResolvConf: []byte("nameserver 10.234.0.1\n")}
			rt1.afterStep = func(s string) {
				if s == step {
					goruntime.Goexit() // the agent dies here
				}
			}
			died := make(chan struct{})
			go func() {
				defer close(died)
				rt1.RunSandbox(ctx, sc)
				t.Errorf("RunSandbox returned: the kill point %q was never reached", step)
			}()
			<-died
			inits := rt1.initsOf(uid)
			if step != stepRecorded && len(inits) != 1 {
				t.Fatalf("after step %s: %d inits of the pod running, want 1 (the half-created sandbox)", step, len(inits))
			}
			rt1.Close()

			for restart := 1; restart <= 2; restart++ {
				var rt *Runtime
				if restart == 1 {
					// Closed below, leaving its pods running for the next one.
					if rt, err = New(ctx, cfg); err != nil {
						t.Fatal(err)
					}
				} else {
					rt = startRuntime(t, cfg) // stops its sandboxes when the test ends
				}
				sbs, _ := rt.ListSandboxes(ctx)
				if step == stepComplete && restart == 1 {
					if len(sbs) != 1 || sbs[0].UID != uid {
						t.Fatalf("restart %d: complete sandbox not adopted: %+v", restart, sbs)
					}
					if got := rt.initsOf(uid); len(got) != 1 || got[0] != inits[0] {
						t.Fatalf("restart %d: inits %v, want the adopted %v", restart, got, inits)
					}
				} else if restart == 1 {
					if len(sbs) != 0 {
						t.Fatalf("restart %d: partial sandbox adopted: %+v", restart, sbs)
					}
					for _, pid := range inits {
						if !processGone(pid) {
							t.Errorf("restart %d: init %d of the partial sandbox still runs", restart, pid)
						}
					}
					if got := rt.initsOf(uid); len(got) != 0 {
						t.Errorf("restart %d: inits of the partial sandbox: %v", restart, got)
					}
					if _, err := netlink.LinkByName(vethName(uid)); err == nil {
						t.Errorf("restart %d: veth %s left behind", restart, vethName(uid))
					}
					if ip := rt.net.lookup(uid); ip != nil {
						t.Errorf("restart %d: address %s still claimed", restart, ip)
					}
					for _, p := range []string{rt.l.podDir(uid), rt.l.sock(uid)} {
						if _, err := os.Stat(p); !isNotExist(err) {
							t.Errorf("restart %d: %s left behind (%v)", restart, p, err)
						}
					}
					// The agent creates the pod again: one sandbox, one init.
					if _, err := rt.RunSandbox(ctx, sc); err != nil {
						t.Fatalf("restart %d: RunSandbox again: %v", restart, err)
					}
				} else if len(sbs) != 1 || sbs[0].UID != uid {
					t.Fatalf("restart %d: sandboxes %+v, want %s adopted", restart, sbs, uid)
				}
				if got := rt.initsOf(uid); len(got) != 1 {
					t.Fatalf("restart %d: %d inits of the pod, want 1: %v", restart, len(got), got)
				}
				st := start(t, rt, uid, runtime.ContainerConfig{Name: "c", Attempt: restart, Argv: []string{"sleep", "1000"}})
				var out lockedBuffer
				if code, err := rt.Exec(ctx, st.ID, []string{"hostname"}, runtime.Streams{Stdout: &out}); err != nil || code != 0 || out.String() != "kill-0\n" {
					t.Fatalf("restart %d: exec hostname = %d, %v, %q", restart, code, err, out.String())
				}
				if restart == 1 {
					rt.Close() // the next restart adopts what this one runs
				}
			}
		})
	}
}
