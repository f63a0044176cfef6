package linux

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// Sandbox creation is a sequence of steps, each leaving something on the
// host; an agent killed (-9) between two of them leaves a partial sandbox.
// The sandbox record is written first, marked Creating, and rewritten as
// the steps progress; only the last step clears Creating. A new Runtime
// adopts complete sandboxes and tears partial ones down (recoverPartial).
const (
	stepRecorded    = "recorded"     // record (Creating) and pod directory on disk
	stepInitStarted = "init-started" // init forked, its PID recorded
	stepInitReady   = "init-ready"   // init reported ready: namespaces, mounts, socket
	stepAddress     = "address"      // pod IP claimed in ipam
	stepHostsFile   = "hosts-file"   // pod hosts file names its own address
	stepNetwork     = "network"      // veth created, moved and configured
	stepComplete    = "complete"     // record rewritten without Creating
)

// creationSteps lists the steps in order; tests inject a kill after each.
var creationSteps = []string{stepRecorded, stepInitStarted, stepInitReady, stepAddress, stepHostsFile, stepNetwork, stepComplete}

// step marks that sandbox creation passed a step (a kill point in tests).
func (r *Runtime) step(name string) {
	if r.afterStep != nil {
		r.afterStep(name)
	}
}

// recoverPartial tears down a sandbox whose creation was interrupted:
// its init and everything in its namespaces, the veth, the claimed
// address, cgroups, control socket and pod directory. It finds an init
// whose PID never made it into the record by its argv and environment.
// RunSandbox also uses it to clean up after a creation step failed.
// Called with the pod lock held (or before the runtime serves calls).
func (r *Runtime) recoverPartial(ctx context.Context, rec sandboxRecord, why string) {
	r.log.Info(why+"; tearing the partial sandbox down", "pod", rec.Namespace+"/"+rec.Name, "uid", rec.UID)
	pids := r.initsOf(rec.UID)
	if rec.InitPID > 0 && alive(rec.InitPID, rec.InitStart) {
		pids = append(pids, rec.InitPID)
	}
	for _, pid := range pids {
		killAndWait(pid)
	}
	if r.net != nil {
		r.net.detach(vethName(rec.UID))
		if ip := r.net.lookup(rec.UID); ip != nil {
			r.net.release(rec.UID, ip.String())
		}
	}
	rec.HostVeth, rec.IP = "", "" // released above
	r.teardown(ctx, &sandbox{rec: rec, gone: closedChan()}, why)
}

// initsOf returns the live sandbox inits of pod uid started by a runtime
// over this state directory: argv "petset-sandbox-init <uid>" and
// PETSET_SANDBOX_CONFIG naming this runtime's pod directory.
func (r *Runtime) initsOf(uid string) []int {
	wantArgv := []byte("petset-sandbox-init\x00" + uid + "\x00")
	wantEnv := []byte(initConfigEnv + "=" + filepath.Join(r.l.podDir(uid), "init.json") + "\x00")
	ents, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		argv, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err != nil || !bytes.Equal(argv, wantArgv) {
			continue
		}
		env, err := os.ReadFile("/proc/" + e.Name() + "/environ")
		if err != nil || !bytes.Contains(append([]byte{0}, env...), append([]byte{0}, wantEnv...)) {
			continue
		}
		out = append(out, pid)
	}
	return out
}

// killAndWait SIGKILLs pid (for a PID namespace's init: the whole
// namespace) and waits until it is gone.
func killAndWait(pid int) {
	pfd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		syscall.Kill(pid, syscall.SIGKILL)
		return
	}
	defer unix.Close(pfd)
	unix.PidfdSendSignal(pfd, unix.SIGKILL, nil, 0)
	// Not our child (an earlier agent's): poll the pidfd for its exit.
	fds := []unix.PollFd{{Fd: int32(pfd), Events: unix.POLLIN}}
	for {
		if _, err := unix.Poll(fds, -1); err != unix.EINTR {
			return
		}
	}
}

// removeStrayPodDirs removes pod directories without a sandbox record:
// the agent died right after creating one, before anything else existed.
func (r *Runtime) removeStrayPodDirs() {
	ents, _ := os.ReadDir(filepath.Join(r.l.root, "pods"))
	for _, e := range ents {
		dir := filepath.Join(r.l.root, "pods", e.Name())
		if _, err := os.Stat(filepath.Join(dir, "sandbox.json")); isNotExist(err) {
			r.log.Info("removing the directory of a sandbox that was never recorded", "dir", dir)
			os.RemoveAll(dir)
		}
	}
}
