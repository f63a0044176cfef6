package bench

import (
	"petset/test/bench/workload"

	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const (
	apiRate     = 200                   // requests per second, all kinds together
	apiRequests = 2000                  // 10 s at apiRate
	apiListSize = 100                   // ConfigMaps in the namespace that is read and listed
	apiTimeout  = 30 * time.Second      // bound per request
	apiPeriod   = time.Second / apiRate // one request every 5 ms
)

// BenchmarkAPILatency sends apiRequests requests at a paced apiRate per
// second (open loop: each starts on its own schedule, never waiting for the
// one before) from one client-go client, cycling create, get and list of
// ConfigMaps, and reports p50/p99 of each. Creates go to a namespace of
// their own; gets and lists read a namespace of apiListSize ConfigMaps.
func BenchmarkAPILatency(b *testing.B) {
	for i := 0; i < b.N; i++ {
		c := startCluster(b, node{simulate: 1})
		cs := c.client()
		ctx := context.Background()
		readNS := createNamespace(ctx, b, cs, fmt.Sprintf("api-read-%d", i))
		writeNS := createNamespace(ctx, b, cs, fmt.Sprintf("api-write-%d", i))
		for k := 0; k < apiListSize-1; k++ { // the probe is one already
			cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("cm-%03d", k)}, Data: map[string]string{"k": "v"}}
			if _, err := cs.CoreV1().ConfigMaps(readNS).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
				b.Fatal(err)
			}
		}

		ops := []string{"create", "get", "list"}
		lat := map[string]workload.Durations{}
		var mu sync.Mutex
		var wg sync.WaitGroup
		errs := 0
		start := time.Now()
		for k := 0; k < apiRequests; k++ {
			time.Sleep(time.Until(start.Add(time.Duration(k) * apiPeriod)))
			op := ops[k%len(ops)]
			wg.Add(1)
			go func(k int, op string) {
				defer wg.Done()
				rctx, cancel := context.WithTimeout(ctx, apiTimeout)
				defer cancel()
				t0 := time.Now()
				var err error
				switch op {
				case "create":
					cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("w-%05d", k)}, Data: map[string]string{"k": "v"}}
					_, err = cs.CoreV1().ConfigMaps(writeNS).Create(rctx, cm, metav1.CreateOptions{})
				case "get":
					_, err = cs.CoreV1().ConfigMaps(readNS).Get(rctx, fmt.Sprintf("cm-%03d", k%(apiListSize-1)), metav1.GetOptions{})
				case "list":
					var l *corev1.ConfigMapList
					l, err = cs.CoreV1().ConfigMaps(readNS).List(rctx, metav1.ListOptions{})
					if err == nil && len(l.Items) != apiListSize {
						err = fmt.Errorf("list: %d items, want %d", len(l.Items), apiListSize)
					}
				}
				d := time.Since(t0)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					errs++
					if errs <= 5 {
						b.Logf("%s: %v", op, err)
					}
					return
				}
				lat[op] = append(lat[op], d)
			}(k, op)
		}
		wg.Wait()
		elapsed := time.Since(start)
		b.Logf("%d requests in %.2fs (%.0f/s), %d errors", apiRequests, elapsed.Seconds(), float64(apiRequests)/elapsed.Seconds(), errs)
		for _, op := range ops {
			d := lat[op]
			b.Logf("%s: n=%d p50 %.2fms p99 %.2fms max %.2fms", op, len(d), millis(d.Quantile(0.5)), millis(d.Quantile(0.99)), millis(d.Max()))
			b.ReportMetric(millis(d.Quantile(0.5)), op+"-p50-ms")
			b.ReportMetric(millis(d.Quantile(0.99)), op+"-p99-ms")
		}
		b.ReportMetric(float64(errs), "errors")
		c.stop()
	}
}
