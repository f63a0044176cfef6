package bench

import (
	"petset/test/bench/workload"

	"context"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
)

// startRuns is how many starts of each kind one benchmark iteration times.
const startRuns = 3

// BenchmarkStartup times `petset up` with a real local node from exec to
// /readyz 200, to its "petset is ready" line and to its node's Ready
// condition (fresh only: on restart the node object, and its old Ready
// condition, are still there): on a fresh data dir and on
// restart over an existing one. Goal (issue): ≤ 1 s. Reported: the median of
// startRuns runs of each; the log holds every sample.
func BenchmarkStartup(b *testing.B) {
	for i := 0; i < b.N; i++ {
		var freshReadyz, freshReady, freshNode, againReadyz, againReady workload.Durations
		for r := 0; r < startRuns; r++ {
			c := startCluster(b, realNode)
			freshReadyz = append(freshReadyz, c.ReadyzAt.Sub(c.Started))
			freshReady = append(freshReady, c.ReadyAt.Sub(c.Started))
			freshNode = append(freshNode, c.nodesReadyAt.Sub(c.Started))
			c.restart()
			againReadyz = append(againReadyz, c.ReadyzAt.Sub(c.Started))
			againReady = append(againReady, c.ReadyAt.Sub(c.Started))
			c.stop()
		}
		b.Logf("fresh: readyz %v; ready line %v; node Ready %v", freshReadyz, freshReady, freshNode)
		b.Logf("restart: readyz %v; ready line %v", againReadyz, againReady)
		b.ReportMetric(seconds(freshNode.Quantile(0.5)), "fresh-node-ready-s")
		b.ReportMetric(seconds(freshReadyz.Quantile(0.5)), "fresh-readyz-s")
		b.ReportMetric(seconds(freshReady.Quantile(0.5)), "fresh-ready-s")
		b.ReportMetric(seconds(againReadyz.Quantile(0.5)), "restart-readyz-s")
		b.ReportMetric(seconds(againReady.Quantile(0.5)), "restart-ready-s")
	}
}

// BenchmarkMemory reports the resident memory of `petset up` (real local
// node) idle after start, and with the 3 kubia pods running: petset up
// itself, and its pods (every process below it) separately. VmRSS counts
// the petset binary's shared pages once per process; Pss splits them.
// Goal (issue): < 100 MB for petset up itself.
func BenchmarkMemory(b *testing.B) {
	for i := 0; i < b.N; i++ {
		c := startCluster(b, realNode)
		ctx := context.Background()
		time.Sleep(settle)
		idle := workload.MemoryOf(c.pid())
		kids, err := workload.Descendants(c.pid())
		if err != nil {
			b.Fatal(err)
		}
		idleKids := workload.MemoryOf(kids...)

		cs := c.client()
		ns := createNamespace(ctx, b, cs, "memory")
		pods, err := workload.TrackPods(ctx, cs, ns)
		if err != nil {
			b.Fatal(err)
		}
		if err := createKubia(ctx, cs, ns, kubiaService(b), kubiaSet(b, "kubia", 3, appsv1.OrderedReadyPodManagement)); err != nil {
			b.Fatal(err)
		}
		if _, err := pods.WaitUntil(ctx, 3*time.Minute, workload.AllReady(3)); err != nil {
			b.Fatalf("kubia pods: %v", err)
		}
		time.Sleep(settle)
		busy := workload.MemoryOf(c.pid())
		if kids, err = workload.Descendants(c.pid()); err != nil {
			b.Fatal(err)
		}
		podMem := workload.MemoryOf(kids...)
		b.Logf("idle: petset up rss %.1f MiB pss %.1f MiB; %d other processes (rss %.1f MiB)", idle.RSSMiB(), idle.PSSMiB(), idleKids.Procs, idleKids.RSSMiB())
		b.Logf("3 kubia pods: petset up rss %.1f MiB pss %.1f MiB; pods: %d processes rss %.1f MiB pss %.1f MiB",
			busy.RSSMiB(), busy.PSSMiB(), podMem.Procs, podMem.RSSMiB(), podMem.PSSMiB())
		b.ReportMetric(idle.RSSMiB(), "idle-rss-MiB")
		b.ReportMetric(idle.PSSMiB(), "idle-pss-MiB")
		b.ReportMetric(busy.RSSMiB(), "3pods-up-rss-MiB")
		b.ReportMetric(busy.PSSMiB(), "3pods-up-pss-MiB")
		b.ReportMetric(podMem.RSSMiB(), "3pods-pods-rss-MiB")
		b.ReportMetric(podMem.PSSMiB(), "3pods-pods-pss-MiB")
		b.ReportMetric(float64(podMem.Procs), "3pods-pod-procs")
		c.stop()
	}
}

// settle is how long a cluster is left alone before its idle memory is read.
const settle = 5 * time.Second
