package scheduler

import (
	"time"

	v1 "k8s.io/api/core/v1"

	"petset/internal/controller/lostvolume"
)

// explainLostVolumes adds petset's hint to an unschedulable pod: for each
// of its bound volumes pinned to a node that is gone or not Ready, a
// Warning VolumeNodeLost event says the pod can run only there and what the
// user can do. The FailedScheduling event and the PodScheduled condition
// keep kube's VolumeBinding wording ("node(s) had volume node affinity
// conflict").
func (s *Scheduler) explainLostVolumes(pod *v1.Pod, pv *podVolumes) {
	if pv == nil {
		return
	}
	for _, vol := range pv.bound {
		host := lostvolume.PinnedNode(vol)
		if host == "" {
			continue
		}
		node, err := lostvolume.FindNode(s.nodes, host)
		if err != nil {
			continue // the next attempt explains it
		}
		down, _, _, why := lostvolume.NodeLost(host, node, time.Now(), lostvolume.DefaultAfter)
		if !down {
			continue
		}
		claim := ""
		if vol.Spec.ClaimRef != nil {
			claim = vol.Spec.ClaimRef.Name
		}
		s.recorder.Event(pod, v1.EventTypeWarning, lostvolume.ReasonVolumeNodeLost, lostvolume.Hint(claim, vol.Name, host, why))
	}
}
