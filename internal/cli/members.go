package cli

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"go.etcd.io/etcd/api/v3/etcdserverpb"
	clientv3 "go.etcd.io/etcd/client/v3"

	"petset/internal/controlplane"
	"petset/internal/etcd"
	"petset/internal/logging"
	"petset/internal/pki"
)

// newMemberCommand lists and removes the etcd members of a cluster of
// servers (docs/ha.md), with a server's own etcd client certificate.
func newMemberCommand() *cobra.Command {
	var dataDir, endpoint string
	client := func(cmd *cobra.Command) (*clientv3.Client, error) {
		f := pki.Files{Dir: filepath.Join(dataDir, "pki")}
		creds := etcd.TLS{CAFile: f.EtcdCACert(), CertFile: f.EtcdClientCert(), KeyFile: f.EtcdClientKey()}
		ctx := logging.IntoContext(cmd.Context(), logging.Setup(cmd.ErrOrStderr(), 0))
		cfg, err := etcd.ClientConfig(ctx, []string{endpoint}, creds)
		if err != nil {
			return nil, err
		}
		cfg.DialTimeout = 10 * time.Second
		c, err := clientv3.New(cfg)
		if err != nil {
			return nil, fmt.Errorf("etcd client: %w", err)
		}
		return c, nil
	}
	// withMembers runs f with a client of the cluster and its member list.
	withMembers := func(cmd *cobra.Command, f func(ctx context.Context, c *clientv3.Client, members []*etcdserverpb.Member) error) error {
		c, err := client(cmd)
		if err != nil {
			return err
		}
		defer c.Close()
		ctx, cancel := context.WithTimeout(cmd.Context(), 30*time.Second)
		defer cancel()
		resp, err := c.MemberList(ctx)
		if err != nil {
			return fmt.Errorf("list etcd members: %w", err)
		}
		return f(ctx, c, resp.Members)
	}
	cmd := &cobra.Command{
		Use:   "member",
		Short: "List or remove the etcd members of a cluster of servers",
		Long: `List or remove the etcd members of a cluster of servers (docs/ha.md), through
the etcd member of a server of the cluster, with that server's etcd client
certificate (<data dir>/pki/apiserver-etcd-client.crt).`,
	}
	list := &cobra.Command{
		Use:   "list",
		Short: "List the members: ID, name, peer and client URLs, learner or voter",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return withMembers(cmd, func(ctx context.Context, c *clientv3.Client, members []*etcdserverpb.Member) error {
				w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 3, ' ', 0)
				fmt.Fprintln(w, "ID\tNAME\tSTATUS\tPEER URLS\tCLIENT URLS")
				for _, m := range members {
					status := "voter"
					switch {
					case m.Name == "":
						status = "not started"
					case m.IsLearner:
						status = "learner"
					}
					fmt.Fprintf(w, "%x\t%s\t%s\t%v\t%v\n", m.ID, m.Name, status, m.PeerURLs, m.ClientURLs)
				}
				return w.Flush()
			})
		},
	}
	remove := &cobra.Command{
		Use:   "remove NAME|ID",
		Short: "Remove a member (a dead server's) by name or hex ID",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withMembers(cmd, func(ctx context.Context, c *clientv3.Client, members []*etcdserverpb.Member) error {
				var id uint64
				for _, m := range members {
					if m.Name == args[0] || strconv.FormatUint(m.ID, 16) == args[0] {
						id = m.ID
					}
				}
				if id == 0 {
					return fmt.Errorf("no etcd member named %s (petset server member list)", args[0])
				}
				if _, err := c.MemberRemove(ctx, id); err != nil {
					return fmt.Errorf("remove etcd member %x: %w", id, err)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "member %x (%s) removed\n", id, args[0])
				return nil
			})
		},
	}
	for _, sub := range []*cobra.Command{list, remove} {
		sub.Flags().StringVar(&dataDir, "data-dir", defaultDataDir(), "data dir of a server of the cluster (its etcd client certificate)")
		sub.Flags().StringVar(&endpoint, "etcd-endpoint", "https://"+controlplane.DefaultEtcdClientAddress, "client URL of that server's etcd member (https://<its --etcd-client-address>)")
	}
	cmd.AddCommand(list, remove)
	return cmd
}
