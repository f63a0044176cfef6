package integration

import (
	"context"
	"fmt"
	"net"
	"sort"
	"sync/atomic"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
)

// TestInformerSurvivesRestartAndCompaction keeps a client-go informer
// running while the server compacts its history and restarts on the same
// data directory and address; the informer re-lists as needed and its
// cache ends equal to the server's state.
func TestInformerSurvivesRestartAndCompaction(t *testing.T) {
	dir := t.TempDir()
	addr := freeAddr(t)
	c := startClusterAt(t, dir, addr)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cms := c.client.CoreV1().ConfigMaps("default")
	for i := 0; i < 3; i++ {
		if _, err := cms.Create(ctx, configMap(fmt.Sprintf("i%d", i), "v"), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	// The informer talks to the address, not to this server instance.
	client, err := kubernetes.NewForConfig(c.config)
	if err != nil {
		t.Fatal(err)
	}
	factory := informers.NewSharedInformerFactoryWithOptions(client, 0, informers.WithNamespace("default"))
	inf := factory.Core().V1().ConfigMaps().Informer()
	var watchErrors atomic.Int32
	_ = inf.SetWatchErrorHandler(func(r *cache.Reflector, err error) { watchErrors.Add(1) })
	factory.Start(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
		t.Fatal("informer did not sync")
	}

	compactAll(t, c)
	if err := cms.Delete(ctx, "i0", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	c.stop()
	c2 := startClusterAt(t, dir, addr)
	cms2 := c2.client.CoreV1().ConfigMaps("default")
	for i := 3; i < 5; i++ {
		if _, err := cms2.Create(ctx, configMap(fmt.Sprintf("i%d", i), "v"), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	want := func() ([]string, error) {
		l, err := cms2.List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, err
		}
		var names []string
		for _, cm := range l.Items {
			names = append(names, cm.Name)
		}
		sort.Strings(names)
		return names, nil
	}
	eventually(t, "informer cache equal to the server's configmaps", func() (bool, error) {
		w, err := want()
		if err != nil {
			return false, err
		}
		var got []string
		for _, o := range inf.GetStore().List() {
			got = append(got, o.(*corev1.ConfigMap).Name)
		}
		sort.Strings(got)
		return fmt.Sprint(got) == fmt.Sprint(w), fmt.Errorf("informer has %v, server has %v", got, w)
	})
	if watchErrors.Load() == 0 {
		t.Log("the informer's watch never failed (it re-watched without a relist)")
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}
