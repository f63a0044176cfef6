package memtrim

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// mapping is one line of /proc/PID/maps: [start, end) with its permissions
// ("r-xp") and path.
type mapping struct {
	start, end uintptr
	perms      string
	path       string
}

// parseMaps reads /proc/PID/maps lines.
func parseMaps(r io.Reader) ([]mapping, error) {
	var out []mapping
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 5 {
			continue
		}
		lo, hi, ok := strings.Cut(f[0], "-")
		if !ok {
			return nil, fmt.Errorf("maps line %q: no address range", sc.Text())
		}
		start, err := strconv.ParseUint(lo, 16, 64)
		if err != nil {
			return nil, fmt.Errorf("maps line %q: %w", sc.Text(), err)
		}
		end, err := strconv.ParseUint(hi, 16, 64)
		if err != nil {
			return nil, fmt.Errorf("maps line %q: %w", sc.Text(), err)
		}
		m := mapping{start: uintptr(start), end: uintptr(end), perms: f[1]}
		if len(f) >= 6 {
			m.path = strings.Join(f[5:], " ")
		}
		out = append(out, m)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read maps: %w", err)
	}
	return out, nil
}

// readOnlyOf are the mappings of the file path that the process cannot
// write (its text and read-only data): paging them out loses nothing.
func readOnlyOf(maps []mapping, path string) []mapping {
	var out []mapping
	for _, m := range maps {
		if m.path == path && !strings.Contains(m.perms, "w") && m.end > m.start {
			out = append(out, m)
		}
	}
	return out
}

// PageOutExecutable asks the kernel to reclaim the resident pages of this
// process's executable that it cannot write (MADV_PAGEOUT), and returns how
// many bytes of mappings it advised. Pages other processes map too (the
// pods run the same binary) stay; pages needed again are faulted back in
// from the file.
func PageOutExecutable() (int64, error) {
	exe, err := os.Executable()
	if err != nil {
		return 0, fmt.Errorf("executable: %w", err)
	}
	if exe, err = filepath.EvalSymlinks(exe); err != nil {
		return 0, fmt.Errorf("executable: %w", err)
	}
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		return 0, fmt.Errorf("memory maps: %w", err)
	}
	maps, err := parseMaps(f)
	f.Close()
	if err != nil {
		return 0, err
	}
	var advised int64
	for _, m := range readOnlyOf(maps, exe) {
		// A raw madvise: the range is the kernel's mapping, not Go memory.
		if _, _, errno := unix.Syscall(unix.SYS_MADVISE, m.start, m.end-m.start, unix.MADV_PAGEOUT); errno != 0 {
			return advised, fmt.Errorf("madvise(MADV_PAGEOUT) %x-%x of %s: %w", m.start, m.end, exe, errno)
		}
		advised += int64(m.end - m.start)
	}
	return advised, nil
}

// AfterStart waits delay (for the first syncs after start-up to settle),
// then returns the heap's free pages to the system and pages out the
// executable's start-up pages. It returns early, doing nothing, when ctx
// ends first.
func AfterStart(ctx context.Context, delay time.Duration) error {
	t := time.NewTimer(delay)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return nil
	case <-t.C:
	}
	debug.FreeOSMemory()
	_, err := PageOutExecutable()
	return err
}
