package memtrim

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const sampleMaps = `00400000-01d88000 r--p 00000000 fe:00 9987569                            /opt/petset/bin/petset
01d88000-04e75000 r-xp 01988000 fe:00 9987569                            /opt/petset/bin/petset
08ab5000-08bf9000 rw-p 086b4000 fe:00 9987569                            /opt/petset/bin/petset
08bf9000-08c3a000 rw-p 00000000 00:00 0
c000000000-c004000000 rw-p 00000000 00:00 0
7f1c2a000000-7f1c2a028000 r--p 00000000 fe:00 1234                       /usr/lib/x86_64-linux-gnu/libc.so.6
7f1c2a100000-7f1c2a101000 r--p 00000000 fe:00 99                         /tmp/a dir/with space
`

func TestReadOnlyOf(t *testing.T) {
	maps, err := parseMaps(strings.NewReader(sampleMaps))
	if err != nil {
		t.Fatal(err)
	}
	if len(maps) != 7 {
		t.Fatalf("parsed %d mappings, want 7", len(maps))
	}
	if got := maps[6].path; got != "/tmp/a dir/with space" {
		t.Errorf("path with a space: %q", got)
	}
	ro := readOnlyOf(maps, "/opt/petset/bin/petset")
	if len(ro) != 2 {
		t.Fatalf("read-only mappings of the binary: %+v, want the r--p and r-xp ones", ro)
	}
	if ro[0].start != 0x400000 || ro[0].end != 0x1d88000 || ro[1].perms != "r-xp" {
		t.Errorf("got %+v", ro)
	}
}

func TestParseMapsRejectsGarbage(t *testing.T) {
	if _, err := parseMaps(strings.NewReader("zz-yy r--p 0 0 0 /x\n")); err == nil {
		t.Fatal("bad address range accepted")
	}
}

func TestPageOutExecutable(t *testing.T) {
	advised, err := PageOutExecutable()
	if err != nil {
		t.Fatal(err)
	}
	// The test binary's text is mapped read-only.
	exe, _ := os.Executable()
	exe, _ = filepath.EvalSymlinks(exe)
	if advised == 0 {
		t.Fatalf("no read-only mapping of %s advised", exe)
	}
	// The code still runs after its pages were paged out.
	if _, err := parseMaps(strings.NewReader(sampleMaps)); err != nil {
		t.Fatal(err)
	}
}

func TestAfterStartStopsWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	done := make(chan error, 1)
	go func() { done <- AfterStart(ctx, time.Hour) }()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
