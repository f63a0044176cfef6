package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"petset/test/harness"
)

// TestKillNineLosesNoAcknowledgedWrite writes objects as fast as it can,
// kills `petset server` with SIGKILL in the middle, restarts it on the
// same data dir and port, and checks that every write the server
// acknowledged is there.
func TestKillNineLosesNoAcknowledgedWrite(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	listen := fmt.Sprintf("127.0.0.1:%d", harness.FreePort(t))
	start := func() (*harness.Process, kubernetes.Interface) {
		p := harness.StartProcess(t, nil, harness.Bin(), "server", "--data-dir", data, "--listen", listen)
		kubeconfig, _, err := p.WaitReady(3 * time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		cfg := harness.RESTConfig(t, kubeconfig)
		cfg.QPS, cfg.Burst = 1000, 1000
		client := harness.Clientset(t, cfg)
		return p, client
	}

	p, client := start()
	ctx, cancel := context.WithCancel(context.Background())
	var acked sync.Map
	var count atomic.Int32
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ctx.Err() == nil && i < 2000; i++ {
				name := fmt.Sprintf("w%d-%d", w, i)
				cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name}, Data: map[string]string{"i": name}}
				if _, err := client.CoreV1().ConfigMaps("default").Create(ctx, cm, metav1.CreateOptions{}); err == nil {
					acked.Store(name, true)
					count.Add(1)
				}
			}
		}()
	}
	if err := harness.WaitFor(time.Minute, func() (bool, error) { return count.Load() >= 100, nil }); err != nil {
		t.Fatalf("writes did not get going: %v", err)
	}
	// Kill the server while the writers are still writing.
	p.Kill(t)
	cancel()
	wg.Wait()
	t.Logf("%d writes acknowledged before kill -9", count.Load())

	_, client = start()
	l, err := client.CoreV1().ConfigMaps("default").List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	stored := map[string]bool{}
	for _, cm := range l.Items {
		stored[cm.Name] = true
	}
	missing := 0
	acked.Range(func(k, _ any) bool {
		if !stored[k.(string)] {
			missing++
			t.Errorf("acknowledged write %s lost", k)
		}
		return missing < 10
	})
}
