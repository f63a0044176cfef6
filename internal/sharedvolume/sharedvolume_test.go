package sharedvolume

import (
	"os"
	"path/filepath"
	"sync"
	"testing"
)

func TestEnsureOneIDForEveryCaller(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "shared")
	ids := make([]string, 8)
	errs := make([]error, 8)
	var wg sync.WaitGroup
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ids[i], errs[i] = Ensure(dir)
		}()
	}
	wg.Wait()
	for i := range ids {
		if errs[i] != nil {
			t.Fatalf("Ensure %d: %v", i, errs[i])
		}
		if ids[i] != ids[0] || len(ids[0]) != 16 {
			t.Fatalf("Ensure returned IDs %v, want one 16-digit ID", ids)
		}
	}
	again, err := Ensure(dir)
	if err != nil || again != ids[0] {
		t.Fatalf("Ensure again = %q, %v; want %q", again, err, ids[0])
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != 1 || ents[0].Name() != IDFile {
		t.Errorf("root holds %v, want only %s", ents, IDFile)
	}
	other, err := Ensure(filepath.Join(t.TempDir(), "other"))
	if err != nil || other == ids[0] {
		t.Errorf("another root's ID = %q, %v; want a different one", other, err)
	}
}

func TestEnsureRejects(t *testing.T) {
	if _, err := Ensure("relative/dir"); err == nil {
		t.Error("relative dir accepted")
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, IDFile), []byte("not an id\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Ensure(dir); err == nil {
		t.Error("a malformed ID file accepted")
	}
}

func TestUnder(t *testing.T) {
	for _, c := range []struct {
		dir, path string
		want      bool
	}{
		{"/srv/shared", "/srv/shared/pvc-1", true},
		{"/srv/shared", "/srv/shared", false},
		{"/srv/shared", "/srv/shared/../etc", false},
		{"/srv/shared", "/srv/sharedx/pvc-1", false},
		{"", "/srv/shared/pvc-1", false},
		{"/srv/shared", "pvc-1", false},
	} {
		if got := Under(c.dir, c.path); got != c.want {
			t.Errorf("Under(%q, %q) = %v, want %v", c.dir, c.path, got, c.want)
		}
	}
}
