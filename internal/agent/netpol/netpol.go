package netpol

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/labels"
	coreinformers "k8s.io/client-go/informers/core/v1"
	networkinginformers "k8s.io/client-go/informers/networking/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	networkinglisters "k8s.io/client-go/listers/networking/v1"
	"k8s.io/client-go/tools/cache"

	"petset/internal/logging"
)

// DefaultMinSyncPeriod is the least time between two table rewrites: the
// changes that arrive meanwhile are written together.
const DefaultMinSyncPeriod = 500 * time.Millisecond

// bridgeNFCallIPTables is br_netfilter's switch that passes bridged IPv4
// traffic (pod to pod on one bridge) through the ip family's hooks.
const bridgeNFCallIPTables = "/proc/sys/net/bridge/bridge-nf-call-iptables"

// Config configures an Enforcer.
type Config struct {
	NodeName string
	Bridge   string
	// DNS is the node's cluster DNS address (see Input.DNS).
	DNS           netip.Addr
	MinSyncPeriod time.Duration
	// KeepTable leaves the table in place when Run returns, for a node
	// whose pods outlive its agent: they stay isolated until the restarted
	// agent's first install replaces the table. Otherwise Run removes it.
	KeepTable bool
	Logger    *slog.Logger
}

// Enforcer keeps the node's policy table in step with the API's policies,
// pods and namespaces.
type Enforcer struct {
	cfg        Config
	table      *Table
	pods       corelisters.PodLister
	namespaces corelisters.NamespaceLister
	policies   networkinglisters.NetworkPolicyLister
	synced     []cache.InformerSynced
	changed    chan struct{}
	ready      chan struct{}
	log        *slog.Logger
}

// New wires an Enforcer to informers of every pod, namespace and
// NetworkPolicy; the caller starts them.
func New(cfg Config, pods coreinformers.PodInformer, namespaces coreinformers.NamespaceInformer, policies networkinginformers.NetworkPolicyInformer) (*Enforcer, error) {
	if cfg.Bridge == "" {
		return nil, errors.New("netpol: a bridge name is required")
	}
	if cfg.MinSyncPeriod <= 0 {
		cfg.MinSyncPeriod = DefaultMinSyncPeriod
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	e := &Enforcer{cfg: cfg, table: NewTable(cfg.Bridge),
		pods: pods.Lister(), namespaces: namespaces.Lister(), policies: policies.Lister(),
		synced:  []cache.InformerSynced{pods.Informer().HasSynced, namespaces.Informer().HasSynced, policies.Informer().HasSynced},
		changed: make(chan struct{}, 1), ready: make(chan struct{}),
		log: cfg.Logger.With("component", "network-policy", "table", TableName(cfg.Bridge))}
	h := cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { e.signal() },
		UpdateFunc: func(any, any) { e.signal() },
		DeleteFunc: func(any) { e.signal() },
	}
	for what, inf := range map[string]cache.SharedIndexInformer{
		"pods": pods.Informer(), "namespaces": namespaces.Informer(), "networkpolicies": policies.Informer(),
	} {
		if _, err := inf.AddEventHandler(h); err != nil {
			return nil, fmt.Errorf("netpol: watch %s: %w", what, err)
		}
	}
	return e, nil
}

func (e *Enforcer) signal() {
	select {
	case e.changed <- struct{}{}:
	default:
	}
}

// Ready is closed once the first rules are installed.
func (e *Enforcer) Ready() <-chan struct{} { return e.ready }

// Run installs the rules at each change, at most once per MinSyncPeriod,
// until ctx ends; it then removes the table unless KeepTable.
func (e *Enforcer) Run(ctx context.Context) error {
	if !cache.WaitForCacheSync(ctx.Done(), e.synced...) {
		return nil
	}
	if b, err := os.ReadFile(bridgeNFCallIPTables); err != nil || strings.TrimSpace(string(b)) != "1" {
		e.log.Warn("br_netfilter is off (" + bridgeNFCallIPTables + " is not 1): traffic between pods of this node's bridge is not filtered by network policies")
	}
	defer func() {
		if e.cfg.KeepTable {
			return
		}
		if err := e.table.Remove(); err != nil {
			e.log.Error("removing the network policy rules", logging.ErrKey, err)
		}
	}()
	e.signal()
	var last string
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-e.changed:
		}
		rules, err := e.compute()
		if err == nil {
			if text := rules.String(); text != last {
				if err = e.table.Install(rules); err == nil {
					last = text
					e.log.Debug("network policy rules installed", "pods", len(rules.Pods), "sets", len(rules.Sets))
				}
			}
		}
		if err != nil {
			e.log.Error("installing the network policy rules", logging.ErrKey, err)
			time.AfterFunc(e.cfg.MinSyncPeriod, e.signal)
		} else {
			select {
			case <-e.ready:
			default:
				close(e.ready)
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(e.cfg.MinSyncPeriod):
		}
	}
}

func (e *Enforcer) compute() (Rules, error) {
	pods, err := e.pods.List(labels.Everything())
	if err != nil {
		return Rules{}, err
	}
	nss, err := e.namespaces.List(labels.Everything())
	if err != nil {
		return Rules{}, err
	}
	nps, err := e.policies.List(labels.Everything())
	if err != nil {
		return Rules{}, err
	}
	return Compute(Input{NodeName: e.cfg.NodeName, Policies: nps, Pods: pods, Namespaces: nss, DNS: e.cfg.DNS}), nil
}
