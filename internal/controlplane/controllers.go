package controlplane

import (
	"context"
	"fmt"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	restclient "k8s.io/client-go/rest"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"

	"petset/internal/apiclient"
	"petset/internal/controller/nodelifecycle"
	"petset/internal/controller/podgc"
	"petset/internal/logging"
	"petset/internal/pki"
)

// leaseName is the Lease in kube-system that elects the server running controllers.
const leaseName = "petset-controller-manager"

// runControllers elects a leader among the servers sharing this etcd and,
// while leading, runs the controllers; a server that lost the lead
// campaigns again. It returns when ctx ends.
func (c *ControlPlane) runControllers(ctx context.Context, loopback *restclient.Config) error {
	cfg := restclient.CopyConfig(loopback)
	cfg.QPS, cfg.Burst = 1000, 2000
	cfg.UserAgent = "petset-controller-manager"
	apiclient.Protobuf(cfg)
	// The API's deprecation warnings (v1 Endpoints) are for users, not for
	// the controllers that must keep writing them.
	cfg.WarningHandler = restclient.NoWarnings{}
	apiclient.DrainOnStop(cfg)
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("controller client: %w", err)
	}
	id := c.LeaderIdentity()
	lock := &resourcelock.LeaseLock{
		LeaseMeta:  metaFor(leaseName, "kube-system"),
		Client:     client.CoordinationV1(),
		LockConfig: resourcelock.ResourceLockConfig{Identity: id},
	}
	// A leader that could not renew its lease in time (etcd without a
	// quorum for a while, a partition) stops its controllers, as
	// kube-controller-manager does (which then exits for its supervisor
	// to restart it), and campaigns again: it runs them again only once
	// it holds the lease again.
	for {
		if err := c.campaign(ctx, id, lock, cfg, client); err != nil {
			return err
		}
		if ctx.Err() != nil {
			return nil
		}
		c.log.Info("lost the controllers' lease: campaigning again", "identity", id)
	}
}

// campaign runs one leader election: it waits for the lease, runs the
// controllers while it holds it, and returns when it lost the lease or ctx
// ended, once the controllers have stopped.
func (c *ControlPlane) campaign(ctx context.Context, id string, lock resourcelock.Interface, cfg *restclient.Config, client kubernetes.Interface) error {
	leCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	// leader election starts OnStartedLeading in a goroutine it does not
	// wait for; running holds while the controllers run, so that after
	// le.Run runControllers waits for them, and stopped keeps a callback
	// that starts after that from starting them.
	var (
		running sync.Mutex
		stopped bool
	)
	le, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
		Lock:            lock,
		LeaseDuration:   15 * time.Second,
		RenewDeadline:   10 * time.Second,
		RetryPeriod:     2 * time.Second,
		ReleaseOnCancel: true,
		Name:            leaseName,
		Callbacks: leaderelection.LeaderCallbacks{
			OnStartedLeading: func(ctx context.Context) {
				running.Lock()
				defer running.Unlock()
				if stopped {
					return
				}
				c.log.Info("leading: starting controllers", "identity", id)
				if err := c.startControllers(ctx, cfg, client); err != nil {
					c.log.Error("controllers stopped", logging.ErrKey, err)
				}
			},
			OnStoppedLeading: func() {
				c.log.Info("stopped leading", "identity", id)
				cancel()
			},
		},
	})
	if err != nil {
		return fmt.Errorf("leader election: %w", err)
	}
	le.Run(leCtx)
	running.Lock()
	stopped = true
	running.Unlock()
	return nil
}

// LeaderIdentity is this server's identity in the controller election. It
// is stable per host and data directory, so a restarted server takes its
// own lease back at once instead of waiting it out.
func (c *ControlPlane) LeaderIdentity() string { return memberName(c.cfg.DataDir) }

// startControllers runs every controller until ctx ends.
func (c *ControlPlane) startControllers(ctx context.Context, cfg *restclient.Config, client kubernetes.Interface) error {
	factory := informers.NewSharedInformerFactoryWithOptions(client, 0, informers.WithTransform(apiclient.DropManagedFields))
	var runs []func(context.Context) error
	for _, start := range controllers {
		run, err := start(ctx, controllerContext{Config: cfg, Client: client, Informers: factory, PKI: c.files, PodGC: c.cfg.PodGC, NodeLifecycle: c.cfg.NodeLifecycle,
			SharedVolumeDir: c.cfg.SharedVolumeDir, SharedVolumeID: c.sharedID, AutoFailover: c.cfg.AutoFailover})
		if err != nil {
			return err
		}
		runs = append(runs, run)
	}
	factory.Start(ctx.Done())
	done := make(chan struct{}, len(runs))
	for _, run := range runs {
		go func() {
			defer func() { done <- struct{}{} }()
			if err := run(ctx); err != nil && ctx.Err() == nil {
				c.log.Error("controller stopped", logging.ErrKey, err)
			}
		}()
	}
	<-ctx.Done()
	for range runs {
		<-done
	}
	factory.Shutdown()
	return nil
}

// controllerContext is what a controller is built from.
type controllerContext struct {
	Config    *restclient.Config
	Client    kubernetes.Interface
	Informers informers.SharedInformerFactory
	// PKI is the control plane's credentials (the CA signs node certificates).
	PKI pki.Files
	// PodGC tunes the pod garbage collector.
	PodGC podgc.Config
	// NodeLifecycle tunes the node lifecycle controller.
	NodeLifecycle nodelifecycle.Config
	// SharedVolumeDir and SharedVolumeID are the shared volume root the
	// volume controller serves ("" for none).
	SharedVolumeDir, SharedVolumeID string
	// AutoFailover opts every StatefulSet's pods into automatic failover.
	AutoFailover bool
}

// controllers construct the controllers the leader runs; each returns its
// Run function, which returns when its context ends.
var controllers []func(context.Context, controllerContext) (func(context.Context) error, error)

func metaFor(name, ns string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: ns}
}
