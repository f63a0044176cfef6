package etcd

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// Member is what this member knows of itself in its cluster.
type Member struct {
	ID uint64
	// Learner: added but not yet promoted to a voting member.
	Learner bool
	// PeerURLs are the URLs it advertises to its peers.
	PeerURLs []string
}

// Self is this member as the cluster's membership records it.
func (s *Server) Self() Member {
	id := s.e.Server.MemberID()
	m := Member{ID: uint64(id), Learner: s.e.Server.IsLearner()}
	if rec := s.e.Server.Cluster().Member(id); rec != nil {
		m.PeerURLs = append([]string(nil), rec.PeerURLs...)
	}
	return m
}

// PeerClientURLs are the client URLs of the cluster's other voting members,
// as they published them: where a learner asks to be promoted.
func (s *Server) PeerClientURLs() []string {
	self := s.e.Server.MemberID()
	var urls []string
	for _, m := range s.e.Server.Cluster().Members() {
		if m.ID != self && !m.IsLearner {
			urls = append(urls, m.ClientURLs...)
		}
	}
	return urls
}

// AddLearner registers a new member named name at peerURL in the cluster c
// is a client of, as a learner: a member that receives the log but does
// not vote, so adding it leaves the quorum as it is until it has caught up
// and is promoted (Promote). A member already registered at peerURL that
// never started (a join retried after a failed first start) is returned
// again; one that did start is an error: remove it first. It returns the
// member's ID and the initial cluster (name=peerURL,...) its first start
// needs.
func AddLearner(ctx context.Context, c *clientv3.Client, name, peerURL string) (uint64, string, error) {
	list, err := c.MemberList(ctx)
	if err != nil {
		return 0, "", fmt.Errorf("list etcd members: %w", err)
	}
	var id uint64
	for _, m := range list.Members {
		if !slices.Contains(m.PeerURLs, peerURL) {
			continue
		}
		if m.Name != "" {
			return 0, "", fmt.Errorf("etcd member %s (%x) already has peer URL %s: remove it before a new member joins there", m.Name, m.ID, peerURL)
		}
		id = m.ID
	}
	for id == 0 {
		resp, err := c.MemberAddAsLearner(ctx, []string{peerURL})
		if err == nil {
			id = resp.Member.ID
			list.Members = resp.Members
			break
		}
		// A member that started moments ago refuses until it has been
		// connected to a quorum for a while (etcd's strict reconfiguration
		// check): ask again.
		if !errors.Is(err, rpctypes.ErrUnhealthy) {
			return 0, "", fmt.Errorf("add etcd member at %s: %w", peerURL, err)
		}
		select {
		case <-ctx.Done():
			return 0, "", fmt.Errorf("add etcd member at %s: %w (%w)", peerURL, err, ctx.Err())
		case <-time.After(500 * time.Millisecond):
		}
	}
	var initial []string
	for _, m := range list.Members {
		n := m.Name
		if m.ID == id {
			n = name
		}
		if n == "" {
			return 0, "", fmt.Errorf("etcd member %x at %v has not started yet: wait until it has joined, or remove it", m.ID, m.PeerURLs)
		}
		for _, u := range m.PeerURLs {
			initial = append(initial, n+"="+u)
		}
	}
	return id, strings.Join(initial, ","), nil
}

// Promote makes learner id a voting member once it has caught up with the
// leader (etcd refuses before: Promote asks again every half second until
// ctx ends). A member that votes already is left as it is.
func Promote(ctx context.Context, c *clientv3.Client, id uint64) error {
	for {
		_, err := c.MemberPromote(ctx, id)
		if err == nil || errors.Is(err, rpctypes.ErrMemberNotLearner) {
			return nil
		}
		if !errors.Is(err, rpctypes.ErrMemberLearnerNotReady) {
			return fmt.Errorf("promote etcd member %x: %w", id, err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("promote etcd member %x: %w", id, ctx.Err())
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// UpdatePeerURL makes the peer URL the cluster records for member id
// peerURL (a data dir of a member alone, whose peer port was picked by the
// system, becomes the first member of a cluster).
func UpdatePeerURL(ctx context.Context, c *clientv3.Client, id uint64, peerURL string) error {
	if _, err := c.MemberUpdate(ctx, id, []string{peerURL}); err != nil {
		return fmt.Errorf("update etcd member %x's peer URL to %s: %w", id, peerURL, err)
	}
	return nil
}
