package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/rest"
	"k8s.io/kubectl/pkg/cmd"
	"k8s.io/kubectl/pkg/cmd/plugin"

	"petset/internal/apiclient"
	"petset/internal/logging"
	"petset/internal/pki"
)

// newKubectlCommand is kubectl itself, built in. Unless KUBECONFIG,
// --kubeconfig or --server says otherwise, it uses the kubeconfig petset
// wrote in its data dir: --data-dir DIR (taken out of the arguments, kubectl
// has no such flag), else $PETSET_DATA_DIR, else the default data dir. When
// that file is missing it says so instead of letting kubectl fall back to
// localhost:8080, except for commands that need no server.
func newKubectlCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "kubectl [--data-dir DIR] [kubectl args...]",
		Short: "Run kubectl (built in) against petset, with the kubeconfig of its data dir",
		Long: `Run kubectl (built in) against petset. Unless KUBECONFIG, --kubeconfig or
--server is given, it uses <data dir>/kubeconfig, where the data dir is
--data-dir DIR (before or among kubectl's arguments), else $PETSET_DATA_DIR,
else ` + defaultDataDir() + `: the same directory petset up used.`,
		DisableFlagParsing: true,
		RunE: func(c *cobra.Command, args []string) error {
			args, kubeconfig, err := kubectlConfig(args, os.Getenv("KUBECONFIG") != "")
			if err != nil {
				return err
			}
			if kubeconfig != "" {
				os.Setenv("KUBECONFIG", kubeconfig)
			}
			ioStreams := genericiooptions.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr}
			// kubectl's default flags (cmd.NewDefaultKubectlCommand's), and
			// the servers of a cluster of servers that the kubeconfig lists.
			flags := genericclioptions.NewConfigFlags(true).WithDeprecatedPasswordFlag().WithDiscoveryBurst(300).WithDiscoveryQPS(50.0).
				WithWarningPrinter(ioStreams)
			flags.WithWrapConfigFn(func(cfg *rest.Config) *rest.Config { return withServers(flags, cfg) })
			k := cmd.NewDefaultKubectlCommandWithArgs(cmd.KubectlOptions{
				PluginHandler: cmd.NewDefaultPluginHandler(plugin.ValidPluginFilenamePrefixes),
				Arguments:     os.Args, ConfigFlags: flags, IOStreams: ioStreams,
			})
			k.SetArgs(args)
			return k.ExecuteContext(c.Context())
		},
	}
}

// withServers makes cfg fail over among the API servers that the
// kubeconfig's cluster lists (pki.ServersExtension, written by servers of a
// cluster of servers), starting with the one cfg names; a server given on
// the command line (--server), or a kubeconfig without the list, is used
// alone.
func withServers(flags *genericclioptions.ConfigFlags, cfg *rest.Config) *rest.Config {
	raw, err := flags.ToRawKubeConfigLoader().RawConfig()
	if err != nil {
		return cfg
	}
	ctxName := raw.CurrentContext
	if flags.Context != nil && *flags.Context != "" {
		ctxName = *flags.Context
	}
	kctx := raw.Contexts[ctxName]
	if kctx == nil {
		return cfg
	}
	cluster := kctx.Cluster
	if flags.ClusterName != nil && *flags.ClusterName != "" {
		cluster = *flags.ClusterName
	}
	listed := pki.KubeconfigServers(raw.Clusters[cluster])
	if !slices.Contains(listed, cfg.Host) {
		return cfg
	}
	servers := []string{cfg.Host}
	for _, s := range listed {
		if s != cfg.Host {
			servers = append(servers, s)
		}
	}
	// Failover only fails for URLs it cannot parse; cfg then stays as it
	// is. kubectl says nothing about which server answered.
	quiet := logging.IntoContext(context.Background(), slog.New(slog.DiscardHandler))
	_ = apiclient.Failover(quiet, cfg, servers)
	return cfg
}

// kubectlConfig takes petset's --data-dir out of args and returns the
// remaining arguments and the kubeconfig to use ("" when the user chose one
// with KUBECONFIG, --kubeconfig or --server, or when the command needs no
// server and there is none).
func kubectlConfig(args []string, haveEnv bool) ([]string, string, error) {
	dir, explicit := "", false
	rest := make([]string, 0, len(args))
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			rest = append(rest, args[i:]...)
			break
		}
		if v, ok := strings.CutPrefix(a, "--data-dir="); ok {
			dir, explicit = v, true
			continue
		}
		if a == "--data-dir" {
			if i+1 >= len(args) {
				return nil, "", errors.New("--data-dir needs a directory")
			}
			dir, explicit = args[i+1], true
			i++
			continue
		}
		rest = append(rest, a)
	}
	if !explicit {
		dir = defaultDataDir()
	}
	if dir == "" {
		return nil, "", errors.New("--data-dir needs a directory")
	}
	if (haveEnv && !explicit) || hasFlag(rest, "--kubeconfig") || hasFlag(rest, "--server") || hasFlag(rest, "-s") {
		return rest, "", nil
	}
	p := filepath.Join(dir, "kubeconfig")
	_, err := os.Stat(p)
	switch {
	case err == nil:
		return rest, p, nil
	case needsNoServer(rest):
		return rest, "", nil
	case errors.Is(err, fs.ErrNotExist):
		return nil, "", fmt.Errorf("no kubeconfig at %s: petset up (or petset server) writes it there when it starts with --data-dir %s; "+
			"if petset runs with another data dir, give that: petset kubectl --data-dir DIR … (or set PETSET_DATA_DIR=DIR, or KUBECONFIG)", p, dir)
	default:
		return nil, "", fmt.Errorf("kubeconfig %s: %w (it is readable by its owner only: run as the user who started petset)", p, err)
	}
}

// hasFlag reports whether args (up to "--") set the flag name, as "name",
// "name=value" or, for a one-letter flag, "-svalue".
func hasFlag(args []string, name string) bool {
	for _, a := range args {
		if a == "--" {
			return false
		}
		if a == name || strings.HasPrefix(a, name+"=") || len(name) == 2 && strings.HasPrefix(a, name) {
			return true
		}
	}
	return false
}

// needsNoServer reports whether kubectl args run without an API server:
// help, completion, config, plugin, options, version --client.
func needsNoServer(args []string) bool {
	if len(args) == 0 || hasFlag(args, "-h") || hasFlag(args, "--help") {
		return true
	}
	for _, a := range args {
		if strings.HasPrefix(a, "-") {
			continue
		}
		switch a {
		case "help", "completion", "config", "plugin", "options":
			return true
		case "version":
			return hasFlag(args, "--client")
		}
		return false
	}
	return false
}
