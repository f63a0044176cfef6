//go:build tools

// Package hack pins tool and library dependencies so go mod tidy keeps them.
package hack

import (
	_ "github.com/creack/pty"
	_ "github.com/miekg/dns"
	_ "github.com/spf13/cobra"
	_ "github.com/vishvananda/netlink"
	_ "github.com/vishvananda/netns"
	_ "go.etcd.io/etcd/server/v3/embed"
	_ "golang.org/x/sys/unix"
	_ "k8s.io/apiserver/pkg/registry/generic/registry"
	_ "k8s.io/apiserver/pkg/server"
	_ "k8s.io/client-go/kubernetes"
	_ "k8s.io/component-base/cli"
	_ "k8s.io/kubectl/pkg/cmd"
)
