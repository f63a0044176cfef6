package bench

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"petset/test/bench/workload"
)

// w1Runs is how many W1 sets one iteration creates (each in its own
// namespace); the median is reported.
const w1Runs = 3

// BenchmarkPeer runs the workloads of /work/shared/bench/peer.md
// (petset/test/bench/workload) on simulated nodes (10 nodes; pods turn Ready
// about 80 ms after they start). Times run from the client-go call to the
// watch event that makes the condition true (peer.md's also include
// kubectl's start-up). W1, W2, W4 and W5 always run; W3 (100 sets × 10) only
// with PETSET_BENCH_W3=1, or a scaled-down W3 of S sets × R with
// PETSET_BENCH_W3=SxR (e.g. 30x10). bench/peer runs the same workloads against
// upstream Kubernetes too (make bench-peer).
func BenchmarkPeer(b *testing.B) {
	c := startCluster(b, simulatedNodes)
	cs := c.client()
	ctx := context.Background()
	cpu0, _ := workload.CPUSeconds(c.pid())
	idle := workload.MemoryOf(c.pid())

	b.Run("W1", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			var all workload.Durations
			for r := 0; r < w1Runs; r++ {
				ns := createNamespace(ctx, b, cs, fmt.Sprintf("w1-%d-%d", i, r))
				all = append(all, kubiaRun(ctx, b, cs, ns, r, 2*time.Minute))
			}
			b.Logf("W1 runs: %v", all)
			b.ReportMetric(seconds(all.Quantile(0.5)), "s")
			b.ReportMetric(seconds(all.Min()), "min-s")
			b.ReportMetric(seconds(all.Max()), "max-s")
		}
	})

	// W2, W4 and W5 share one set in one namespace, as in peer.md.
	set, err := workload.NewParallelSet(ctx, cs, manifests(b), createNamespace(ctx, b, cs, "w2"), 5*time.Minute)
	if err != nil {
		b.Fatal(err)
	}
	created := false
	b.Run("W2", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if created { // later iterations: back to 0 first, untimed
				b.StopTimer()
				if _, err := set.ScaleTo(ctx, 0); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
			r, err := set.W2(ctx, 100)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(seconds(r.Took), "s")
			if !created {
				b.Log(r.Detail)
			}
			created = true
		}
	})
	if created { // W4 and W5 need W2's set
		b.Run("W4", func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				r, err := set.W4(ctx)
				if err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(seconds(r.Took), "s")
			}
		})

		b.Run("W5", func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if i > 0 {
					b.StopTimer()
					if _, err := set.ScaleTo(ctx, 100); err != nil {
						b.Fatal(err)
					}
					b.StartTimer()
				}
				r, err := set.ScaleTo(ctx, 0)
				if err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(seconds(r.Took), "s")
			}
		})
	}

	if w3 := os.Getenv("PETSET_BENCH_W3"); w3 != "" {
		sets, size := w3Size(b, w3)
		b.Run("W3", func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				runW3(ctx, b, c, i, sets, size)
			}
		})
	}

	cpu1, _ := workload.CPUSeconds(c.pid())
	end := workload.MemoryOf(c.pid())
	retries := 0
	for _, line := range strings.Split(c.Process.Stderr(), "\n") {
		if strings.Contains(line, "retrying") {
			retries++
		}
	}
	b.Logf("petset up logged %d \"retrying\" lines", retries)
	b.Logf("petset up (simulated nodes): idle rss %.0f MiB, after the workloads rss %.0f MiB; CPU %.1f s over them", idle.RSSMiB(), end.RSSMiB(), cpu1-cpu0)
}

// w3Size reads PETSET_BENCH_W3: "1" is peer.md's 100 sets × 10, "SxR" is S
// sets × R.
func w3Size(b *testing.B, v string) (sets, size int) {
	if v == "1" {
		return 100, 10
	}
	if _, err := fmt.Sscanf(v, "%dx%d", &sets, &size); err != nil || sets <= 0 || size <= 0 {
		b.Fatalf("PETSET_BENCH_W3=%q: want 1 or SETSxREPLICAS, e.g. 30x10", v)
	}
	return sets, size
}

// runW3 is workload.W3 (sets OrderedReady sets of size in one namespace;
// peer.md's is 100 × 10), with petset up's peak RSS and CPU seconds.
func runW3(ctx context.Context, b *testing.B, c *cluster, i, sets, size int) {
	cs := c.client()
	ns := createNamespace(ctx, b, cs, fmt.Sprintf("w3-%d", i))
	s := startPeak(c.pid())
	r, err := workload.W3(ctx, cs, manifests(b), ns, sets, size, w3Bound)
	cpu, peak := s.stop()
	b.ReportMetric(peak, "peak-rss-MiB")
	b.ReportMetric(cpu, "cpu-s")
	if err != nil {
		b.ReportMetric(float64(len(r.ReadyAt)), "pods-ready-at-bound")
		b.Fatal(err)
	}
	b.ReportMetric(seconds(r.Took), "s")
}

// w3Bound is how long W3 may take before it is reported unfinished.
const w3Bound = 10 * time.Minute

// w6Nodes is W6's cluster: issue 12's 50 simulated nodes, with the peer's
// delays and, as the peer's kwok nodes, room for 1,000 pods each (a
// simulated node's default is kwok's 110: 50 × 110 < 10,000).
var w6Nodes = node{simulate: 50, flags: append(append([]string(nil), simulatedNodes.flags...),
	"--simulate-node-capacity", "pods=1000")}

// w6Bound is how long each phase of W6 may take before it is reported
// unfinished.
const w6Bound = 30 * time.Minute

// BenchmarkW6 is issue 12's W6 on a cluster of its own with 50 simulated
// nodes: 100 Parallel kubia sets × 100 (PETSET_BENCH_W6=1) or S × R
// (PETSET_BENCH_W6=SxR, e.g. 10x20) → all Ready, then a rollout of every
// set with maxUnavailable 10 → all rolled out. It reports both phases'
// seconds, petset up's CPU seconds and peak RSS over each, and the per-pod
// cost of phase 1 (to set beside W3's). Skipped without PETSET_BENCH_W6.
func BenchmarkW6(b *testing.B) {
	v := os.Getenv("PETSET_BENCH_W6")
	if v == "" {
		b.Skip("PETSET_BENCH_W6 not set (1: 100 sets × 100; SxR: scaled down)") // not required: an on-demand benchmark (10,000 pods, minutes); make test and CI run no benchmark
	}
	sets, size := 100, 100
	if v != "1" {
		if _, err := fmt.Sscanf(v, "%dx%d", &sets, &size); err != nil || sets <= 0 || size <= 0 {
			b.Fatalf("PETSET_BENCH_W6=%q: want 1 or SETSxREPLICAS, e.g. 10x20", v)
		}
	}
	c := startCluster(b, w6Nodes)
	defer c.stop()
	cs := c.client()
	ctx := context.Background()
	for i := 0; i < b.N; i++ {
		ns := createNamespace(ctx, b, cs, fmt.Sprintf("w6-%d", i))
		w, err := workload.NewBigRollout(ctx, cs, manifests(b), ns, sets, size, w6Bound)
		if err != nil {
			b.Fatal(err)
		}
		pods := float64(w.Pods())
		s := startPeak(c.pid())
		r, err := w.Create(ctx)
		cpu, peak := s.stop()
		b.ReportMetric(peak, "create-peak-rss-MiB")
		b.ReportMetric(cpu, "create-cpu-s")
		if err != nil {
			b.ReportMetric(float64(len(r.ReadyAt)), "pods-ready-at-bound")
			b.Fatal(err)
		}
		b.Log(r.Detail)
		b.ReportMetric(seconds(r.Took), "create-s")
		b.ReportMetric(1000*seconds(r.Took)/pods, "create-ms/pod")
		b.ReportMetric(1000*cpu/pods, "create-cpu-ms/pod")
		b.ReportMetric(peak/pods, "create-peak-rss-MiB/pod")
		s = startPeak(c.pid())
		ro, err := w.Rollout(ctx, 10)
		cpu, peak = s.stop()
		b.ReportMetric(peak, "rollout-peak-rss-MiB")
		b.ReportMetric(cpu, "rollout-cpu-s")
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(seconds(ro.Took), "rollout-s")
	}
}

// peakSampler samples a process's RSS every 250 ms for its peak, and its
// CPU seconds at the start and the end.
type peakSampler struct {
	pid  int
	cpu0 float64
	peak workload.Memory
	done chan struct{}
	wg   sync.WaitGroup
}

func startPeak(pid int) *peakSampler {
	s := &peakSampler{pid: pid, peak: workload.MemoryOf(pid), done: make(chan struct{})}
	s.cpu0, _ = workload.CPUSeconds(pid)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			select {
			case <-s.done:
				return
			case <-time.After(250 * time.Millisecond):
			}
			if m := workload.MemoryOf(pid); m.RSS > s.peak.RSS {
				s.peak = m
			}
		}
	}()
	return s
}

// stop ends the sampling: CPU seconds since the start, peak RSS in MiB.
func (s *peakSampler) stop() (cpu, peakMiB float64) {
	close(s.done)
	s.wg.Wait()
	cpu1, _ := workload.CPUSeconds(s.pid)
	return cpu1 - s.cpu0, s.peak.RSSMiB()
}
