package proxy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/nftables"
	"k8s.io/apimachinery/pkg/labels"
	coreinformers "k8s.io/client-go/informers/core/v1"
	discoveryinformers "k8s.io/client-go/informers/discovery/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	discoverylisters "k8s.io/client-go/listers/discovery/v1"
	"k8s.io/client-go/tools/cache"

	"petset/internal/logging"
)

// DefaultMinSyncPeriod bounds how often the table is rewritten
// (kube-proxy's --nftables-min-sync-period is 1 s).
const DefaultMinSyncPeriod = time.Second

// Config configures a Proxy.
type Config struct {
	// NodeName selects the endpoints of internalTrafficPolicy Local.
	NodeName string
	// Bridge is the pod bridge: pods' traffic enters from it, and the
	// table is named after it.
	Bridge        string
	MinSyncPeriod time.Duration
	Logger        *slog.Logger
}

// Proxy installs the node's Service rules.
type Proxy struct {
	cfg      Config
	services corelisters.ServiceLister
	slices   discoverylisters.EndpointSliceLister
	synced   []cache.InformerSynced
	changed  chan struct{}
	ready    chan struct{}
	log      *slog.Logger
}

// New wires the proxy to the informers (which the caller starts).
func New(cfg Config, services coreinformers.ServiceInformer, slices discoveryinformers.EndpointSliceInformer) (*Proxy, error) {
	if cfg.Bridge == "" || len(TableName(cfg.Bridge)) > 255 {
		return nil, errors.New("proxy: a bridge name is required")
	}
	if cfg.MinSyncPeriod <= 0 {
		cfg.MinSyncPeriod = DefaultMinSyncPeriod
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	p := &Proxy{cfg: cfg, services: services.Lister(), slices: slices.Lister(),
		synced:  []cache.InformerSynced{services.Informer().HasSynced, slices.Informer().HasSynced},
		changed: make(chan struct{}, 1), ready: make(chan struct{}),
		log: cfg.Logger.With("component", "service-proxy", "table", TableName(cfg.Bridge))}
	h := cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { p.signal() },
		UpdateFunc: func(any, any) { p.signal() },
		DeleteFunc: func(any) { p.signal() },
	}
	if _, err := services.Informer().AddEventHandler(h); err != nil {
		return nil, fmt.Errorf("proxy: watch services: %w", err)
	}
	if _, err := slices.Informer().AddEventHandler(h); err != nil {
		return nil, fmt.Errorf("proxy: watch endpointslices: %w", err)
	}
	return p, nil
}

func (p *Proxy) signal() {
	select {
	case p.changed <- struct{}{}:
	default:
	}
}

// Ready is closed once the first rule set is installed.
func (p *Proxy) Ready() <-chan struct{} { return p.ready }

// Run installs the rules and keeps them current until ctx ends, then
// removes the table and restores the bridge's forwarding setting.
func (p *Proxy) Run(ctx context.Context) error {
	if !cache.WaitForCacheSync(ctx.Done(), p.synced...) {
		return nil
	}
	fwdPath := filepath.Join("/proc/sys/net/ipv4/conf", p.cfg.Bridge, "forwarding")
	before, err := os.ReadFile(fwdPath)
	if err != nil {
		return fmt.Errorf("proxy: bridge forwarding setting: %w", err)
	}
	wasForwarding := strings.TrimSpace(string(before)) == "1"
	defer func() {
		if err := p.remove(); err != nil {
			p.log.Error("removing the service rules", logging.ErrKey, err)
		}
		if !wasForwarding {
			if err := os.WriteFile(fwdPath, []byte("0"), 0o644); err != nil {
				p.log.Warn("restoring the bridge's forwarding setting", logging.ErrKey, err)
			}
		}
	}()
	// Pod-to-pod Service traffic is routed back out of the bridge.
	if !wasForwarding {
		if err := os.WriteFile(fwdPath, []byte("1"), 0o644); err != nil {
			return fmt.Errorf("proxy: enable forwarding on %s: %w", p.cfg.Bridge, err)
		}
	}
	p.signal()
	var last string
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-p.changed:
		}
		rules, err := p.compute()
		if err == nil {
			if text := rules.String(); text != last {
				if err = p.install(rules, !wasForwarding); err == nil {
					last = text
					p.log.Debug("service rules installed", "services", len(rules.Services))
				}
			}
		}
		if err != nil {
			p.log.Error("installing the service rules", logging.ErrKey, err)
			time.AfterFunc(p.cfg.MinSyncPeriod, p.signal)
		} else {
			select {
			case <-p.ready:
			default:
				close(p.ready)
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(p.cfg.MinSyncPeriod):
		}
	}
}

func (p *Proxy) compute() (Rules, error) {
	svcs, err := p.services.List(labels.Everything())
	if err != nil {
		return Rules{}, err
	}
	slices, err := p.slices.List(labels.Everything())
	if err != nil {
		return Rules{}, err
	}
	return Compute(p.cfg.NodeName, svcs, slices), nil
}

func (p *Proxy) install(r Rules, dropOthers bool) error {
	conn, err := nftables.New()
	if err != nil {
		return fmt.Errorf("nftables: %w", err)
	}
	newTable(conn, p.cfg.Bridge, dropOthers).replace(r)
	if err := conn.Flush(); err != nil {
		return fmt.Errorf("nftables: replace table %s: %w", TableName(p.cfg.Bridge), err)
	}
	return nil
}

func (p *Proxy) remove() error {
	conn, err := nftables.New()
	if err != nil {
		return fmt.Errorf("nftables: %w", err)
	}
	newTable(conn, p.cfg.Bridge, false).remove()
	if err := conn.Flush(); err != nil {
		return fmt.Errorf("nftables: delete table %s: %w", TableName(p.cfg.Bridge), err)
	}
	return nil
}
