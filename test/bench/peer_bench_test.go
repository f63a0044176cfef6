package bench

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// w1Runs is how many W1 sets one iteration creates (each in its own
// namespace); the median is reported.
const w1Runs = 3

// BenchmarkPeer runs the workloads of /work/shared/bench/peer.md on
// simulated nodes (10 nodes; pods turn Ready about 80 ms after they start).
// Times run from the client-go call to the watch event that makes the
// condition true (peer.md's also include kubectl's start-up). W1, W2, W4 and
// W5 always run; W3 (100 sets × 10) only with PETSET_BENCH_W3=1.
func BenchmarkPeer(b *testing.B) {
	c := startCluster(b, simulatedNodes)
	cs := c.client()
	ctx := context.Background()
	cpu0, _ := cpuSeconds(c.pid())
	idle := memoryOf(c.pid())

	b.Run("W1", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			var all durations
			for r := 0; r < w1Runs; r++ {
				ns := createNamespace(ctx, b, cs, fmt.Sprintf("w1-%d-%d", i, r))
				all = append(all, kubiaRun(ctx, b, cs, ns, r, 2*time.Minute))
			}
			b.Logf("W1 runs: %v", all)
			b.ReportMetric(seconds(all.quantile(0.5)), "s")
			b.ReportMetric(seconds(all.min()), "min-s")
			b.ReportMetric(seconds(all.max()), "max-s")
		}
	})

	// W2, W4 and W5 share one set in one namespace, as in peer.md.
	ns := createNamespace(ctx, b, cs, "w2")
	pods, err := trackPods(ctx, cs, ns)
	if err != nil {
		b.Fatal(err)
	}
	sets, err := trackSets(ctx, cs, ns)
	if err != nil {
		b.Fatal(err)
	}
	claims, err := trackClaims(ctx, cs, ns)
	if err != nil {
		b.Fatal(err)
	}
	created := false
	scaleTo := func(n int) (time.Duration, error) {
		t0 := time.Now()
		patch := fmt.Sprintf(`{"spec":{"replicas":%d}}`, n)
		if _, err := cs.AppsV1().StatefulSets(ns).Patch(ctx, "kubia", types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
			return 0, err
		}
		cond := allReady(n)
		if n == 0 {
			cond = noPods
		}
		at, err := pods.waitUntil(ctx, 5*time.Minute, cond)
		return at.Sub(t0), err
	}

	b.Run("W2", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if created { // later iterations: back to 0 first, untimed
				b.StopTimer()
				if _, err := scaleTo(0); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				d, err := scaleTo(100)
				if err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(seconds(d), "s")
				continue
			}
			t0 := time.Now()
			if err := createKubia(ctx, cs, ns, kubiaService(b), kubiaSet(b, "kubia", 100, appsv1.ParallelPodManagement)); err != nil {
				b.Fatal(err)
			}
			created = true
			at, err := pods.waitUntil(ctx, 5*time.Minute, allReady(100))
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(seconds(at.Sub(t0)), "s")
			lat := podLatencies(pods)
			b.Log(stepLatencies(pods))
			b.Log(claimLatencies(claims))
			b.ReportMetric(seconds(lat.quantile(0.5)), "pod-ready-p50-s")
			b.ReportMetric(seconds(lat.quantile(0.99)), "pod-ready-p99-s")
		}
	})
	if created { // W4 and W5 need W2's set
		images := []string{"luksa/kubia-pet-peers", "luksa/kubia-pet"}
		b.Run("W4", func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				t0 := time.Now()
				patch := fmt.Sprintf(`{"spec":{"template":{"spec":{"containers":[{"name":"kubia","image":%q}]}}}}`, images[i%2])
				set, err := cs.AppsV1().StatefulSets(ns).Patch(ctx, "kubia", types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{})
				if err != nil {
					b.Fatal(err)
				}
				at, err := sets.waitUntil(ctx, 5*time.Minute, rolledOut("kubia", set.Generation))
				if err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(seconds(at.Sub(t0)), "s")
			}
		})

		b.Run("W5", func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if i > 0 {
					b.StopTimer()
					if _, err := scaleTo(100); err != nil {
						b.Fatal(err)
					}
					b.StartTimer()
				}
				d, err := scaleTo(0)
				if err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(seconds(d), "s")
			}
		})
	}

	if os.Getenv("PETSET_BENCH_W3") == "1" {
		b.Run("W3", func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				runW3(ctx, b, c, i)
			}
		})
	}

	cpu1, _ := cpuSeconds(c.pid())
	end := memoryOf(c.pid())
	retries := 0
	for _, line := range strings.Split(c.Process.Stderr(), "\n") {
		if strings.Contains(line, "retrying") {
			retries++
		}
	}
	b.Logf("petset up logged %d \"retrying\" lines", retries)
	b.Logf("petset up (simulated nodes): idle rss %.0f MiB, after the workloads rss %.0f MiB; CPU %.1f s over them", idle.rssMiB(), end.rssMiB(), cpu1-cpu0)
}

// runW3 creates 100 OrderedReady sets of 10 (one claim template each) in one
// namespace at once, and reports the time until all 1,000 pods are Ready,
// with petset up's peak RSS and CPU seconds.
func runW3(ctx context.Context, b *testing.B, c *cluster, i int) {
	cs := c.client()
	ns := createNamespace(ctx, b, cs, fmt.Sprintf("w3-%d", i))
	pods, err := trackPods(ctx, cs, ns)
	if err != nil {
		b.Fatal(err)
	}
	cpu0, _ := cpuSeconds(c.pid())
	peak := memoryOf(c.pid())
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
			if m := memoryOf(c.pid()); m.rss > peak.rss {
				peak = m
			}
		}
	}()
	t0 := time.Now()
	for s := 0; s < 100; s++ {
		name := fmt.Sprintf("set-%03d", s)
		set := kubiaSet(b, name, 10, appsv1.OrderedReadyPodManagement)
		set.Spec.ServiceName = name
		if err := createKubia(ctx, cs, ns, nil, set); err != nil {
			b.Fatal(err)
		}
	}
	at, err := pods.waitUntil(ctx, w3Bound, allReady(1000))
	close(stopSampling)
	wg.Wait()
	cpu1, _ := cpuSeconds(c.pid())
	b.ReportMetric(peak.rssMiB(), "peak-rss-MiB")
	b.ReportMetric(cpu1-cpu0, "cpu-s")
	if err != nil {
		_, ready := pods.snapshot()
		b.ReportMetric(float64(len(ready)), "pods-ready-at-bound")
		b.Fatalf("W3: %d of 1000 pods were Ready after %s: %v", len(ready), w3Bound, err)
	}
	b.ReportMetric(seconds(at.Sub(t0)), "s")
}

// w3Bound is how long W3 may take before it is reported unfinished.
const w3Bound = 10 * time.Minute
