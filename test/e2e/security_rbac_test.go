package e2e

// TestSecurityRBAC: with a real `petset up` and the real kubectl, RBAC is
// enforced and `kubectl auth can-i` / `kubectl auth whoami` tell the truth,
// for the admin and for a user of --token-auth-file that has only what a
// RoleBinding made with `kubectl create rolebinding` gives it.

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"petset/test/harness"
)

func TestSecurityRBAC(t *testing.T) {
	tokens := filepath.Join(t.TempDir(), "tokens.csv")
	if err := os.WriteFile(tokens, []byte("alice-secret-token,alice,uid-alice,\"devs\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	u := harness.StartUp(t, "--simulate-nodes=1", "--token-auth-file", tokens)
	k := u.K
	asAlice := func(args ...string) harness.Result {
		return k.Run(append([]string{"--token", "alice-secret-token"}, args...)...)
	}
	canI := func(alice bool, args ...string) string {
		t.Helper()
		full := append([]string{"auth", "can-i"}, args...)
		var r harness.Result
		if alice {
			r = asAlice(full...)
		} else {
			r = k.Run(full...)
		}
		// can-i exits 1 for "no"; anything else is an error.
		out := strings.TrimSpace(r.Stdout)
		if out != "yes" && out != "no" {
			t.Fatalf("%s", r)
		}
		return out
	}

	k.MustRun(t, "create", "namespace", "team")

	// The admin (system:masters) may do everything.
	for _, q := range [][]string{{"*", "*"}, {"delete", "nodes"}, {"list", "secrets", "-n", "team"}} {
		if got := canI(false, q...); got != "yes" {
			t.Errorf("admin: can-i %v = %s, want yes", q, got)
		}
	}
	who := k.MustRun(t, "auth", "whoami").Stdout
	if !strings.Contains(who, "petset-admin") || !strings.Contains(who, "system:masters") {
		t.Errorf("admin whoami:\n%s", who)
	}

	// alice authenticates, has discovery, and nothing else yet.
	aliceWho := asAlice("auth", "whoami")
	if aliceWho.Err != nil || !strings.Contains(aliceWho.Stdout, "alice") || !strings.Contains(aliceWho.Stdout, "devs") || !strings.Contains(aliceWho.Stdout, "system:authenticated") {
		t.Fatalf("alice whoami: %s", aliceWho)
	}
	for _, q := range [][]string{{"list", "pods", "-n", "team"}, {"list", "secrets", "-n", "team"}, {"create", "rolebindings", "-n", "team"}} {
		if got := canI(true, q...); got != "no" {
			t.Errorf("alice before any binding: can-i %v = %s, want no", q, got)
		}
	}
	r := asAlice("get", "secrets", "-n", "team")
	if r.Err == nil || !strings.Contains(r.Stderr, `secrets is forbidden: User "alice" cannot list resource "secrets" in API group "" in the namespace "team"`) {
		t.Errorf("alice get secrets: %s", r)
	}
	// A wrong token is refused outright.
	if r := k.Run("--token", "wrong", "get", "pods"); r.Err == nil || !strings.Contains(r.Stderr, "Unauthorized") {
		t.Errorf("wrong token: %s", r)
	}

	// The admin grants alice edit in team with kubectl create rolebinding.
	k.MustRun(t, "create", "rolebinding", "alice-edit", "--clusterrole=edit", "--user=alice", "-n", "team")
	if out := k.MustRun(t, "get", "rolebinding", "alice-edit", "-n", "team", "-o", "wide").Stdout; !strings.Contains(out, "ClusterRole/edit") || !strings.Contains(out, "alice") {
		t.Errorf("get rolebinding -o wide:\n%s", out)
	}
	if err := harness.WaitFor(time.Minute, func() (bool, error) { return canI(true, "create", "pods", "-n", "team") == "yes", nil }); err != nil {
		t.Fatalf("alice can-i create pods in team after the binding: %v", err)
	}
	for _, q := range [][]string{{"list", "secrets", "-n", "team"}, {"create", "statefulsets.apps", "-n", "team"}} {
		if got := canI(true, q...); got != "yes" {
			t.Errorf("alice with edit: can-i %v = %s, want yes", q, got)
		}
	}
	// edit is namespaced and below admin: no other namespace, no RBAC
	// writes, no nodes.
	for _, q := range [][]string{{"list", "pods", "-n", "default"}, {"create", "rolebindings", "-n", "team"}, {"delete", "nodes"}} {
		if got := canI(true, q...); got != "no" {
			t.Errorf("alice with edit: can-i %v = %s, want no", q, got)
		}
	}
	asAlice("create", "configmap", "made-by-alice", "-n", "team", "--from-literal=a=b")
	if out := k.MustRun(t, "get", "configmap", "made-by-alice", "-n", "team", "-o", "jsonpath={.data.a}").Stdout; out != "b" {
		t.Errorf("configmap alice created: %q", out)
	}
	// Her rules, as kubectl auth can-i --list shows them.
	list := asAlice("auth", "can-i", "--list", "-n", "team")
	if list.Err != nil || !strings.Contains(list.Stdout, "statefulsets.apps") || !strings.Contains(list.Stdout, "selfsubjectaccessreviews.authorization.k8s.io") {
		t.Errorf("alice can-i --list: %s", list)
	}
	// Escalation: alice may not bind herself admin.
	r = asAlice("create", "rolebinding", "alice-admin", "--clusterrole=admin", "--user=alice", "-n", "team")
	if r.Err == nil || !strings.Contains(r.Stderr, "forbidden") {
		t.Errorf("alice binding herself admin: %s", r)
	}
}
