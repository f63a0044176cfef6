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
	cpu0, _ := workload.CPUSeconds(c.pid())
	peak := workload.MemoryOf(c.pid())
	stopSampling := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // peak RSS, sampled
		defer wg.Done()
		for {
			select {
			case <-stopSampling:
				return
			case <-time.After(250 * time.Millisecond):
			}
			if m := workload.MemoryOf(c.pid()); m.RSS > peak.RSS {
				peak = m
			}
		}
	}()
	r, err := workload.W3(ctx, cs, manifests(b), ns, sets, size, w3Bound)
	close(stopSampling)
	wg.Wait()
	cpu1, _ := workload.CPUSeconds(c.pid())
	b.ReportMetric(peak.RSSMiB(), "peak-rss-MiB")
	b.ReportMetric(cpu1-cpu0, "cpu-s")
	if err != nil {
		b.ReportMetric(float64(len(r.ReadyAt)), "pods-ready-at-bound")
		b.Fatal(err)
	}
	b.ReportMetric(seconds(r.Took), "s")
}

// w3Bound is how long W3 may take before it is reported unfinished.
const w3Bound = 10 * time.Minute
