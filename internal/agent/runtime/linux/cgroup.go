package linux

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"petset/internal/agent/runtime"
)

const (
	cgroupNone = ""
	cgroupV2   = "v2"
	cgroupV1   = "v1"
)

// cgroupPaths are the cgroup directories of one container (or pod): one
// directory for v2, the memory and cpu directories for v1.
type cgroupPaths struct {
	Mode string   `json:",omitempty"`
	Dirs []string `json:",omitempty"`
}

// cgroups creates and removes cgroups below a parent group in the hierarchy
// that New found writable.
type cgroups struct {
	mode   string
	parent string
	// v2: root of the unified hierarchy; v1: memory and cpu roots.
	v2root  string
	memRoot string
	cpuRoot string
	// why limits are not applied, when mode is cgroupNone.
	reason string
}

func cgroup2Mount() string {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		i := strings.Index(line, " - ")
		if i < 0 {
			continue
		}
		after := strings.Fields(line[i+3:])
		before := strings.Fields(line[:i])
		if len(after) > 0 && after[0] == "cgroup2" && len(before) > 4 {
			return before[4]
		}
	}
	return ""
}

func hasControllers(file string, want ...string) bool {
	b, err := os.ReadFile(file)
	if err != nil {
		return false
	}
	have := map[string]bool{}
	for _, c := range strings.Fields(string(b)) {
		have[c] = true
	}
	for _, w := range want {
		if !have[w] {
			return false
		}
	}
	return true
}

func detectCgroups(parent string) *cgroups {
	cg := &cgroups{parent: parent}
	if root := cgroup2Mount(); root != "" && hasControllers(filepath.Join(root, "cgroup.controllers"), "memory", "cpu") {
		dir := filepath.Join(root, parent)
		if err := os.MkdirAll(dir, 0o755); err == nil {
			if err := enableControllers(root, parent); err == nil {
				cg.mode, cg.v2root = cgroupV2, root
				return cg
			} else {
				cg.reason = fmt.Sprintf("cgroup v2 at %s: %v", root, err)
			}
		} else {
			cg.reason = fmt.Sprintf("cgroup v2 at %s is not writable: %v", root, err)
		}
	}
	mem, cpu := "/sys/fs/cgroup/memory", "/sys/fs/cgroup/cpu"
	if _, err := os.Stat(filepath.Join(mem, "memory.limit_in_bytes")); err == nil {
		if _, err := os.Stat(filepath.Join(cpu, "cpu.cfs_quota_us")); err == nil {
			e1 := os.MkdirAll(filepath.Join(mem, parent), 0o755)
			e2 := os.MkdirAll(filepath.Join(cpu, parent), 0o755)
			if err := errors.Join(e1, e2); err == nil {
				cg.mode, cg.memRoot, cg.cpuRoot = cgroupV1, mem, cpu
				cg.reason = ""
				return cg
			} else if cg.reason == "" {
				cg.reason = fmt.Sprintf("cgroup v1 hierarchy is not writable: %v", err)
			}
		}
	}
	if cg.reason == "" {
		cg.reason = "no writable cgroup hierarchy with the memory and cpu controllers"
	}
	return cg
}

// enableControllers turns on memory and cpu for the children of every level
// from root down to root/rel.
func enableControllers(root, rel string) error {
	dir := root
	parts := strings.Split(filepath.Clean(rel), string(filepath.Separator))
	for _, p := range append([]string{""}, parts...) {
		dir = filepath.Join(dir, p)
		if hasControllers(filepath.Join(dir, "cgroup.subtree_control"), "memory", "cpu") {
			continue
		}
		if err := os.WriteFile(filepath.Join(dir, "cgroup.subtree_control"), []byte("+memory +cpu"), 0); err != nil {
			return fmt.Errorf("enable memory and cpu controllers in %s: %w", dir, err)
		}
	}
	return nil
}

// create makes the cgroup of one container with its limits.
func (cg *cgroups) create(pod, ctr string, res runtime.Resources) (cgroupPaths, error) {
	switch cg.mode {
	case cgroupV2:
		if err := os.MkdirAll(filepath.Join(cg.v2root, cg.parent, pod), 0o755); err != nil {
			return cgroupPaths{}, fmt.Errorf("create pod cgroup: %w", err)
		}
		if err := enableControllers(cg.v2root, filepath.Join(cg.parent, pod)); err != nil {
			return cgroupPaths{}, err
		}
		dir := filepath.Join(cg.v2root, cg.parent, pod, ctr)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return cgroupPaths{}, fmt.Errorf("create container cgroup: %w", err)
		}
		p := cgroupPaths{Mode: cgroupV2, Dirs: []string{dir}}
		if res.MemoryBytes > 0 {
			if err := writeCg(dir, "memory.max", strconv.FormatInt(res.MemoryBytes, 10)); err != nil {
				return p, err
			}
		}
		if res.CPUMilli > 0 {
			if err := writeCg(dir, "cpu.max", fmt.Sprintf("%d 100000", cpuQuota(res.CPUMilli))); err != nil {
				return p, err
			}
		}
		return p, nil
	case cgroupV1:
		mdir := filepath.Join(cg.memRoot, cg.parent, pod, ctr)
		cdir := filepath.Join(cg.cpuRoot, cg.parent, pod, ctr)
		p := cgroupPaths{Mode: cgroupV1, Dirs: []string{mdir, cdir}}
		for _, d := range p.Dirs {
			if err := os.MkdirAll(d, 0o755); err != nil {
				return p, fmt.Errorf("create container cgroup: %w", err)
			}
		}
		if res.MemoryBytes > 0 {
			if err := writeCg(mdir, "memory.limit_in_bytes", strconv.FormatInt(res.MemoryBytes, 10)); err != nil {
				return p, err
			}
		}
		if res.CPUMilli > 0 {
			if err := writeCg(cdir, "cpu.cfs_period_us", "100000"); err != nil {
				return p, err
			}
			if err := writeCg(cdir, "cpu.cfs_quota_us", strconv.FormatInt(cpuQuota(res.CPUMilli), 10)); err != nil {
				return p, err
			}
		}
		return p, nil
	}
	return cgroupPaths{}, nil
}

func cpuQuota(milli int64) int64 {
	q := milli * 100 // period 100000µs = 1000 millicores
	if q < 1000 {
		q = 1000
	}
	return q
}

func writeCg(dir, file, val string) error {
	if err := os.WriteFile(filepath.Join(dir, file), []byte(val), 0); err != nil {
		return fmt.Errorf("set %s: %w", file, err)
	}
	return nil
}

// join moves pid into every directory of p (used by init after fork for
// cgroup v1, where there is no clone-into-cgroup).
func (p cgroupPaths) join(pid int) error {
	for _, d := range p.Dirs {
		if err := os.WriteFile(filepath.Join(d, "cgroup.procs"), []byte(strconv.Itoa(pid)), 0); err != nil {
			return fmt.Errorf("join cgroup %s: %w", d, err)
		}
	}
	return nil
}

// oomKilled reports whether the kernel's OOM killer killed a process of p.
func (p cgroupPaths) oomKilled() bool {
	if len(p.Dirs) == 0 {
		return false
	}
	file := "memory.events"
	if p.Mode == cgroupV1 {
		file = "memory.oom_control"
	}
	b, err := os.ReadFile(filepath.Join(p.Dirs[0], file))
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) == 2 && f[0] == "oom_kill" && f[1] != "0" {
			return true
		}
	}
	return false
}

// remove deletes the container's (empty) cgroup directories.
func (p cgroupPaths) remove() {
	for _, d := range p.Dirs {
		os.Remove(d)
	}
}

// removePod removes the pod-level cgroup directories once its containers'
// groups are gone.
func (cg *cgroups) removePod(pod string) {
	switch cg.mode {
	case cgroupV2:
		os.Remove(filepath.Join(cg.v2root, cg.parent, pod))
	case cgroupV1:
		os.Remove(filepath.Join(cg.memRoot, cg.parent, pod))
		os.Remove(filepath.Join(cg.cpuRoot, cg.parent, pod))
	}
}

// describe says whether resource limits are applied and, if not, why.
func (cg *cgroups) describe() string {
	switch cg.mode {
	case cgroupV2:
		return "cgroup v2 at " + filepath.Join(cg.v2root, cg.parent)
	case cgroupV1:
		return "cgroup v1 at " + filepath.Join(cg.memRoot, cg.parent) + " and " + filepath.Join(cg.cpuRoot, cg.parent)
	}
	return "resource limits are not applied: " + cg.reason
}
