package workload

// Memory of a process tree from /proc: VmRSS (what `ps` shows; shared pages
// of the one petset binary are counted once per process) and Pss (shared
// pages split between the processes that map them, so a sum is honest).

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Descendants lists every live process below pid (not pid itself).
func Descendants(pid int) ([]int, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, fmt.Errorf("read /proc: %w", err)
	}
	children := map[int][]int{}
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		pp, err := parentOf(p)
		if err != nil {
			continue // gone meanwhile
		}
		children[pp] = append(children[pp], p)
	}
	var out []int
	queue := []int{pid}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		for _, ch := range children[p] {
			out = append(out, ch)
			queue = append(queue, ch)
		}
	}
	return out, nil
}

func parentOf(pid int) (int, error) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return 0, err
	}
	// pid (comm) state ppid ...; comm may hold spaces and parentheses.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("stat of %d: no comm", pid)
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 2 {
		return 0, fmt.Errorf("stat of %d: short", pid)
	}
	return strconv.Atoi(f[1])
}

// kbField reads a "Name:   123 kB" line from a /proc file.
func kbField(path, name string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name+":") {
			continue
		}
		fields := strings.Fields(line[len(name)+1:])
		if len(fields) == 0 {
			return 0, fmt.Errorf("%s: empty %s", path, name)
		}
		return strconv.ParseInt(fields[0], 10, 64)
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("%s: no %s", path, name)
}

// Memory is the resident memory of a set of processes, in KiB.
type Memory struct {
	Procs int
	RSS   int64 // sum of VmRSS
	PSS   int64 // sum of Pss
}

func (m Memory) RSSMiB() float64 { return float64(m.RSS) / 1024 }
func (m Memory) PSSMiB() float64 { return float64(m.PSS) / 1024 }

// MemoryOf sums VmRSS and Pss over pids, skipping processes that are gone.
func MemoryOf(pids ...int) Memory {
	var m Memory
	for _, p := range pids {
		dir := filepath.Join("/proc", strconv.Itoa(p))
		rss, err := kbField(filepath.Join(dir, "status"), "VmRSS")
		if err != nil {
			continue
		}
		pss, err := kbField(filepath.Join(dir, "smaps_rollup"), "Pss")
		if err != nil {
			continue
		}
		m.Procs++
		m.RSS += rss
		m.PSS += pss
	}
	return m
}

// CPUSeconds is the user+system CPU time of pid and its reaped children.
func CPUSeconds(pid int) (float64, error) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return 0, err
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	f := strings.Fields(s[i+1:])
	// after comm: state(0) ppid(1) ... utime(11) stime(12) cutime(13) cstime(14)
	if len(f) < 15 {
		return 0, fmt.Errorf("stat of %d: short", pid)
	}
	var ticks int64
	for _, k := range []int{11, 12, 13, 14} {
		v, err := strconv.ParseInt(f[k], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("stat of %d: %w", pid, err)
		}
		ticks += v
	}
	return float64(ticks) / 100, nil // USER_HZ is 100 on Linux
}
