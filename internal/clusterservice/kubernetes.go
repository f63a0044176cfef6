package clusterservice

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sort"
	"strconv"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"

	"petset/internal/logging"
)

// The kubernetes Service, as kube-apiserver keeps it.
const (
	KubernetesName      = "kubernetes"
	KubernetesNamespace = metav1.NamespaceDefault
	// leasePrefix holds one key per live API server (kube's /masterleases/).
	leasePrefix = "/petset/masterleases/"
	// DefaultLeaseTTL and DefaultInterval are kube-apiserver's lease
	// reconciler's: --endpoint-reconciler-type=lease with a 15 s master
	// lease, reconciled every 10 s.
	DefaultLeaseTTL = 15 * time.Second
	DefaultInterval = 10 * time.Second
)

// KubernetesConfig configures the kubernetes Service's reconciler of one
// API server.
type KubernetesConfig struct {
	Client kubernetes.Interface
	Etcd   *clientv3.Client
	// ClusterIP is the Service's address (the service CIDR's first).
	ClusterIP string
	// AdvertiseIP is where this API server is reached from pods and nodes
	// (IPv4); nil publishes no endpoint for it.
	AdvertiseIP net.IP
	// Port is the advertised port (the Service's targetPort).
	Port int32
	// LeaseTTL and Interval default to DefaultLeaseTTL and DefaultInterval.
	LeaseTTL, Interval time.Duration
	Logger             *slog.Logger
}

// Reconciler keeps the kubernetes Service and its endpoints.
type Reconciler struct {
	cfg     KubernetesConfig
	log     *slog.Logger
	leaseID clientv3.LeaseID // this server's, 0 while it has none; Ensure, then Run
}

// NewKubernetes checks cfg.
func NewKubernetes(cfg KubernetesConfig) (*Reconciler, error) {
	if cfg.Client == nil || cfg.Etcd == nil || net.ParseIP(cfg.ClusterIP) == nil {
		return nil, errors.New("kubernetes service: a client, an etcd client and a cluster IP are required")
	}
	if cfg.AdvertiseIP != nil && cfg.AdvertiseIP.To4() == nil {
		return nil, fmt.Errorf("kubernetes service: advertise address %s: only IPv4 is supported", cfg.AdvertiseIP)
	}
	if cfg.LeaseTTL <= 0 {
		cfg.LeaseTTL = DefaultLeaseTTL
	}
	if cfg.Interval <= 0 {
		cfg.Interval = DefaultInterval
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Reconciler{cfg: cfg, log: cfg.Logger.With("component", "kubernetes-service")}, nil
}

// KubernetesService is the Service kube-apiserver creates.
func KubernetesService(clusterIP string, port int32) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: KubernetesName, Namespace: KubernetesNamespace,
			Labels: map[string]string{"component": "apiserver", "provider": "kubernetes"}},
		Spec: corev1.ServiceSpec{
			Type:            corev1.ServiceTypeClusterIP,
			ClusterIP:       clusterIP,
			SessionAffinity: corev1.ServiceAffinityNone,
			Ports: []corev1.ServicePort{{Name: "https", Protocol: corev1.ProtocolTCP, Port: 443,
				TargetPort: intstr.FromInt32(port)}},
		},
	}
}

// Ensure creates or repairs the Service, takes this server's lease and
// writes the endpoints once (the control plane calls it before it reports
// ready, so the Service and its endpoints exist from the start; Run, which
// must follow, keeps them).
func (r *Reconciler) Ensure(ctx context.Context) error {
	if err := r.ensureService(ctx); err != nil {
		return err
	}
	if r.cfg.AdvertiseIP != nil {
		id, err := r.grant(ctx, leasePrefix+r.cfg.AdvertiseIP.String())
		if err != nil {
			return err
		}
		r.leaseID = id
	}
	return r.reconcile(ctx)
}

// Run keeps this server's lease and the endpoints until ctx ends; then it
// withdraws its lease and rewrites the endpoints without it.
func (r *Reconciler) Run(ctx context.Context) error {
	key := ""
	if r.cfg.AdvertiseIP != nil {
		key = leasePrefix + r.cfg.AdvertiseIP.String()
	}
	leaseID := r.leaseID
	defer func() {
		stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if leaseID != 0 {
			if _, err := r.cfg.Etcd.Revoke(stopCtx, leaseID); err != nil {
				r.log.Warn("withdrawing the API server's lease", logging.ErrKey, err)
			}
			if err := r.reconcile(stopCtx); err != nil {
				r.log.Warn("endpoints of the kubernetes service at stop", logging.ErrKey, err)
			}
		}
	}()
	t := time.NewTicker(r.cfg.Interval)
	defer t.Stop()
	for {
		if key != "" && leaseID == 0 {
			id, err := r.grant(ctx, key)
			if err != nil {
				r.log.Warn("API server lease", logging.ErrKey, err)
			}
			leaseID = id
		}
		if err := r.ensureService(ctx); err != nil && ctx.Err() == nil {
			r.log.Warn("kubernetes service", logging.ErrKey, err)
		}
		if err := r.reconcile(ctx); err != nil && ctx.Err() == nil {
			r.log.Warn("endpoints of the kubernetes service", logging.ErrKey, err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		if leaseID != 0 {
			// Renew; a lease that expired meanwhile is granted anew.
			if _, err := r.cfg.Etcd.KeepAliveOnce(ctx, leaseID); err != nil {
				leaseID = 0
				if ctx.Err() == nil {
					r.log.Warn("renewing the API server lease", logging.ErrKey, err)
				}
			}
		}
	}
}

// grant writes key with a fresh lease of LeaseTTL.
func (r *Reconciler) grant(ctx context.Context, key string) (clientv3.LeaseID, error) {
	l, err := r.cfg.Etcd.Grant(ctx, int64(r.cfg.LeaseTTL/time.Second))
	if err != nil {
		return 0, fmt.Errorf("grant: %w", err)
	}
	if _, err := r.cfg.Etcd.Put(ctx, key, strconv.Itoa(int(r.cfg.Port)), clientv3.WithLease(l.ID)); err != nil {
		return 0, fmt.Errorf("put %s: %w", key, err)
	}
	return l.ID, nil
}

// ensureService creates the Service or repairs its port, as kube's
// kubernetesservice controller does.
func (r *Reconciler) ensureService(ctx context.Context) error {
	want := KubernetesService(r.cfg.ClusterIP, r.cfg.Port)
	api := r.cfg.Client.CoreV1().Services(KubernetesNamespace)
	cur, err := api.Get(ctx, KubernetesName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		if _, err := api.Create(ctx, want, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("create: %w", err)
		}
		return nil
	}
	if err != nil {
		return err
	}
	if len(cur.Spec.Ports) == 1 && cur.Spec.Ports[0].Name == "https" && cur.Spec.Ports[0].Port == 443 &&
		cur.Spec.Ports[0].Protocol == corev1.ProtocolTCP && cur.Spec.Ports[0].TargetPort == want.Spec.Ports[0].TargetPort {
		return nil
	}
	cur = cur.DeepCopy()
	want.Spec.Ports[0].NodePort = 0
	cur.Spec.Ports = want.Spec.Ports
	if _, err := api.Update(ctx, cur, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("update: %w", err)
	}
	return nil
}

// reconcile writes the endpoints from the live leases.
func (r *Reconciler) reconcile(ctx context.Context) error {
	resp, err := r.cfg.Etcd.Get(ctx, leasePrefix, clientv3.WithPrefix())
	if err != nil {
		return fmt.Errorf("list API server leases: %w", err)
	}
	var ips []string
	for _, kv := range resp.Kvs {
		ip := strings.TrimPrefix(string(kv.Key), leasePrefix)
		if net.ParseIP(ip) != nil {
			ips = append(ips, ip)
		}
	}
	sort.Strings(ips)
	eps := make([]endpoint, 0, len(ips))
	for _, ip := range ips {
		eps = append(eps, endpoint{IP: ip, Ready: true})
	}
	ports := []corev1.EndpointPort{{Name: "https", Port: r.cfg.Port, Protocol: corev1.ProtocolTCP}}
	return writeEndpoints(ctx, r.cfg.Client, KubernetesNamespace, KubernetesName, ports, eps)
}
