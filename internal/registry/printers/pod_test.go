package printers

import (
	"reflect"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

var podsGR = schema.GroupResource{Resource: "pods"}

func running() corev1.ContainerState {
	return corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: ago(4 * time.Minute)}}
}

func waiting(reason string) corev1.ContainerState {
	return corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason}}
}

func terminated(reason string, code int32) corev1.ContainerState {
	return corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: reason, ExitCode: code, FinishedAt: ago(time.Minute)}}
}

func cond(t corev1.PodConditionType, s corev1.ConditionStatus) corev1.PodCondition {
	return corev1.PodCondition{Type: t, Status: s}
}

// pod builds web-0 on node1 with the given containers (by name) and status.
func pod(containers []string, initContainers []corev1.Container, status corev1.PodStatus) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web-0", Namespace: "default", CreationTimestamp: ago(5 * time.Minute)},
		Spec:       corev1.PodSpec{NodeName: "node1", InitContainers: initContainers},
		Status:     status,
	}
	for _, c := range containers {
		p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: c, Image: "nginx"})
	}
	return p
}

func TestPodRows(t *testing.T) {
	always := corev1.ContainerRestartPolicyAlways
	sidecar := corev1.Container{Name: "proxy", RestartPolicy: &always}
	started := true
	ready := []corev1.PodCondition{cond(corev1.PodInitialized, corev1.ConditionTrue), cond(corev1.PodReady, corev1.ConditionTrue)}

	tests := []struct {
		name string
		pod  *corev1.Pod
		// want is READY, STATUS, RESTARTS, AGE, IP, NODE, NOMINATED NODE, READINESS GATES.
		want []any
		// completed tells whether the row carries the Completed row condition.
		completed bool
	}{
		{
			name: "running and ready",
			pod: pod([]string{"nginx"}, nil, corev1.PodStatus{
				Phase: corev1.PodRunning, Conditions: ready, PodIPs: []corev1.PodIP{{IP: "10.244.0.5"}},
				ContainerStatuses: []corev1.ContainerStatus{{Name: "nginx", Ready: true, State: running()}},
			}),
			want: []any{"1/1", "Running", "0", "5m", "10.244.0.5", "node1", "<none>", "<none>"},
		},
		{
			name: "running but not ready",
			pod: pod([]string{"nginx"}, nil, corev1.PodStatus{
				Phase:             corev1.PodRunning,
				ContainerStatuses: []corev1.ContainerStatus{{Name: "nginx", Ready: false, State: running()}},
			}),
			want: []any{"0/1", "Running", "0", "5m", "<none>", "node1", "<none>", "<none>"},
		},
		{
			name: "container creating",
			pod: pod([]string{"nginx"}, nil, corev1.PodStatus{
				Phase:             corev1.PodPending,
				ContainerStatuses: []corev1.ContainerStatus{{Name: "nginx", State: waiting("ContainerCreating")}},
			}),
			want: []any{"0/1", "ContainerCreating", "0", "5m", "<none>", "node1", "<none>", "<none>"},
		},
		{
			name: "crash loop with restarts",
			pod: pod([]string{"nginx"}, nil, corev1.PodStatus{
				Phase: corev1.PodRunning, PodIPs: []corev1.PodIP{{IP: "10.244.0.5"}},
				ContainerStatuses: []corev1.ContainerStatus{{
					Name: "nginx", RestartCount: 4, State: waiting("CrashLoopBackOff"),
					LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1, Reason: "Error", FinishedAt: ago(2 * time.Minute)}},
				}},
			}),
			want: []any{"0/1", "CrashLoopBackOff", "4 (2m ago)", "5m", "10.244.0.5", "node1", "<none>", "<none>"},
		},
		{
			name: "restarts summed over containers, latest termination shown",
			pod: pod([]string{"a", "b"}, nil, corev1.PodStatus{
				Phase: corev1.PodRunning, Conditions: ready,
				ContainerStatuses: []corev1.ContainerStatus{
					{Name: "a", Ready: true, State: running(), RestartCount: 1, LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{FinishedAt: ago(3 * time.Hour)}}},
					{Name: "b", Ready: true, State: running(), RestartCount: 2, LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{FinishedAt: ago(40 * time.Second)}}},
				},
			}),
			want: []any{"2/2", "Running", "3 (40s ago)", "5m", "<none>", "node1", "<none>", "<none>"},
		},
		{
			name: "terminating",
			pod: func() *corev1.Pod {
				p := pod([]string{"nginx"}, nil, corev1.PodStatus{
					Phase: corev1.PodRunning, Conditions: ready,
					ContainerStatuses: []corev1.ContainerStatus{{Name: "nginx", Ready: true, State: running()}},
				})
				p.DeletionTimestamp = agoPtr(-30 * time.Second)
				return p
			}(),
			want: []any{"1/1", "Terminating", "0", "5m", "<none>", "node1", "<none>", "<none>"},
		},
		{
			name: "deleted on a lost node",
			pod: func() *corev1.Pod {
				p := pod([]string{"nginx"}, nil, corev1.PodStatus{
					Phase: corev1.PodRunning, Reason: "NodeLost",
					ContainerStatuses: []corev1.ContainerStatus{{Name: "nginx", Ready: true, State: running()}},
				})
				p.DeletionTimestamp = agoPtr(0)
				return p
			}(),
			want: []any{"1/1", "Unknown", "0", "5m", "<none>", "node1", "<none>", "<none>"},
		},
		{
			name: "on a lost node, not yet deleted",
			pod: pod([]string{"nginx"}, nil, corev1.PodStatus{
				Phase: corev1.PodRunning, Reason: "NodeLost",
				ContainerStatuses: []corev1.ContainerStatus{{Name: "nginx", Ready: true, State: running()}},
			}),
			want: []any{"1/1", "NodeLost", "0", "5m", "<none>", "node1", "<none>", "<none>"},
		},
		{
			name: "completed",
			pod: pod([]string{"job"}, nil, corev1.PodStatus{
				Phase:             corev1.PodSucceeded,
				ContainerStatuses: []corev1.ContainerStatus{{Name: "job", State: terminated("Completed", 0)}},
			}),
			want:      []any{"0/1", "Completed", "0", "5m", "<none>", "node1", "<none>", "<none>"},
			completed: true,
		},
		{
			name: "completed pod being deleted stays completed",
			pod: func() *corev1.Pod {
				p := pod([]string{"job"}, nil, corev1.PodStatus{
					Phase:             corev1.PodSucceeded,
					ContainerStatuses: []corev1.ContainerStatus{{Name: "job", State: terminated("Completed", 0)}},
				})
				p.DeletionTimestamp = agoPtr(0)
				return p
			}(),
			want:      []any{"0/1", "Completed", "0", "5m", "<none>", "node1", "<none>", "<none>"},
			completed: true,
		},
		{
			name: "failed with Error",
			pod: pod([]string{"job"}, nil, corev1.PodStatus{
				Phase:             corev1.PodFailed,
				ContainerStatuses: []corev1.ContainerStatus{{Name: "job", State: terminated("Error", 2)}},
			}),
			want:      []any{"0/1", "Error", "0", "5m", "<none>", "node1", "<none>", "<none>"},
			completed: true,
		},
		{
			name: "terminated without a reason shows the exit code or signal",
			pod: pod([]string{"a", "b"}, nil, corev1.PodStatus{
				Phase: corev1.PodFailed,
				ContainerStatuses: []corev1.ContainerStatus{
					{Name: "a", State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 137, Signal: 9}}},
					{Name: "b", State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 3}}},
				},
			}),
			// The first container's state wins: containers are read last to first.
			want:      []any{"0/2", "Signal:9", "0", "5m", "<none>", "node1", "<none>", "<none>"},
			completed: true,
		},
		{
			name: "one container done, one still running and ready",
			pod: pod([]string{"main", "helper"}, nil, corev1.PodStatus{
				Phase: corev1.PodRunning, Conditions: ready,
				ContainerStatuses: []corev1.ContainerStatus{
					{Name: "main", State: terminated("Completed", 0)},
					{Name: "helper", Ready: true, State: running()},
				},
			}),
			want: []any{"1/2", "Running", "0", "5m", "<none>", "node1", "<none>", "<none>"},
		},
		{
			name: "one container done, one running, pod not ready",
			pod: pod([]string{"main", "helper"}, nil, corev1.PodStatus{
				Phase: corev1.PodRunning,
				ContainerStatuses: []corev1.ContainerStatus{
					{Name: "main", State: terminated("Completed", 0)},
					{Name: "helper", Ready: true, State: running()},
				},
			}),
			want: []any{"1/2", "NotReady", "0", "5m", "<none>", "node1", "<none>", "<none>"},
		},
		{
			name: "waiting for the first of two init containers",
			pod: pod([]string{"nginx"}, []corev1.Container{{Name: "init-a"}, {Name: "init-b"}}, corev1.PodStatus{
				Phase: corev1.PodPending,
				InitContainerStatuses: []corev1.ContainerStatus{
					{Name: "init-a", State: waiting("PodInitializing")},
					{Name: "init-b", State: waiting("PodInitializing")},
				},
				ContainerStatuses: []corev1.ContainerStatus{{Name: "nginx", State: waiting("PodInitializing")}},
			}),
			want: []any{"0/1", "Init:0/2", "0", "5m", "<none>", "node1", "<none>", "<none>"},
		},
		{
			name: "second init container running",
			pod: pod([]string{"nginx"}, []corev1.Container{{Name: "init-a"}, {Name: "init-b"}}, corev1.PodStatus{
				Phase: corev1.PodPending,
				InitContainerStatuses: []corev1.ContainerStatus{
					{Name: "init-a", State: terminated("Completed", 0)},
					{Name: "init-b", State: running()},
				},
				ContainerStatuses: []corev1.ContainerStatus{{Name: "nginx", State: waiting("PodInitializing")}},
			}),
			want: []any{"0/1", "Init:1/2", "0", "5m", "<none>", "node1", "<none>", "<none>"},
		},
		{
			name: "init container crash looping",
			pod: pod([]string{"nginx"}, []corev1.Container{{Name: "init-a"}}, corev1.PodStatus{
				Phase: corev1.PodPending,
				InitContainerStatuses: []corev1.ContainerStatus{{
					Name: "init-a", RestartCount: 3, State: waiting("CrashLoopBackOff"),
					LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1, FinishedAt: ago(10 * time.Second)}},
				}},
				ContainerStatuses: []corev1.ContainerStatus{{Name: "nginx", State: waiting("PodInitializing")}},
			}),
			want: []any{"0/1", "Init:CrashLoopBackOff", "3 (10s ago)", "5m", "<none>", "node1", "<none>", "<none>"},
		},
		{
			name: "init container failed",
			pod: pod([]string{"nginx"}, []corev1.Container{{Name: "init-a"}}, corev1.PodStatus{
				Phase:                 corev1.PodPending,
				InitContainerStatuses: []corev1.ContainerStatus{{Name: "init-a", State: terminated("Error", 1)}},
			}),
			want: []any{"0/1", "Init:Error", "0", "5m", "<none>", "node1", "<none>", "<none>"},
		},
		{
			name: "init container failed without a reason",
			pod: pod([]string{"nginx"}, []corev1.Container{{Name: "init-a"}}, corev1.PodStatus{
				Phase:                 corev1.PodPending,
				InitContainerStatuses: []corev1.ContainerStatus{{Name: "init-a", State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 4}}}},
			}),
			want: []any{"0/1", "Init:ExitCode:4", "0", "5m", "<none>", "node1", "<none>", "<none>"},
		},
		{
			name: "init done, container still initializing",
			pod: pod([]string{"nginx"}, []corev1.Container{{Name: "init-a"}}, corev1.PodStatus{
				Phase:                 corev1.PodPending,
				Conditions:            []corev1.PodCondition{cond(corev1.PodInitialized, corev1.ConditionTrue)},
				InitContainerStatuses: []corev1.ContainerStatus{{Name: "init-a", State: terminated("Completed", 0)}},
				ContainerStatuses:     []corev1.ContainerStatus{{Name: "nginx", State: waiting("PodInitializing")}},
			}),
			want: []any{"0/1", "PodInitializing", "0", "5m", "<none>", "node1", "<none>", "<none>"},
		},
		{
			name: "scheduling gated",
			pod: func() *corev1.Pod {
				p := pod([]string{"nginx"}, nil, corev1.PodStatus{
					Phase:      corev1.PodPending,
					Conditions: []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: corev1.PodReasonSchedulingGated}},
				})
				p.Spec.NodeName = ""
				return p
			}(),
			want: []any{"0/1", "SchedulingGated", "0", "5m", "<none>", "<none>", "<none>", "<none>"},
		},
		{
			name: "unscheduled pending pod with a nominated node",
			pod: func() *corev1.Pod {
				p := pod([]string{"nginx"}, nil, corev1.PodStatus{Phase: corev1.PodPending, NominatedNodeName: "node2"})
				p.Spec.NodeName = ""
				return p
			}(),
			want: []any{"0/1", "Pending", "0", "5m", "<none>", "<none>", "node2", "<none>"},
		},
		{
			name: "sidecar counts as a container",
			pod: pod([]string{"nginx"}, []corev1.Container{sidecar}, corev1.PodStatus{
				Phase: corev1.PodRunning, Conditions: ready,
				InitContainerStatuses: []corev1.ContainerStatus{{
					Name: "proxy", Ready: true, Started: &started, State: running(), RestartCount: 1,
					LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{FinishedAt: ago(3 * time.Minute)}},
				}},
				ContainerStatuses: []corev1.ContainerStatus{{Name: "nginx", Ready: true, State: running()}},
			}),
			want: []any{"2/2", "Running", "1 (3m ago)", "5m", "<none>", "node1", "<none>", "<none>"},
		},
		{
			name: "readiness gates",
			pod: func() *corev1.Pod {
				p := pod([]string{"nginx"}, nil, corev1.PodStatus{
					Phase:             corev1.PodRunning,
					Conditions:        append(ready[:2:2], cond("example.com/lb", corev1.ConditionTrue), cond("example.com/dns", corev1.ConditionFalse)),
					ContainerStatuses: []corev1.ContainerStatus{{Name: "nginx", Ready: true, State: running()}},
				})
				p.Spec.ReadinessGates = []corev1.PodReadinessGate{{ConditionType: "example.com/lb"}, {ConditionType: "example.com/dns"}, {ConditionType: "example.com/missing"}}
				return p
			}(),
			want: []any{"1/1", "Running", "0", "5m", "<none>", "node1", "<none>", "1/3"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			table := convertAt(t, podsGR, tt.pod, nil)
			row := table.Rows[0]
			want := append([]any{"web-0"}, tt.want...)
			if !reflect.DeepEqual(row.Cells, want) {
				t.Errorf("cells =\n %#v\nwant\n %#v", row.Cells, want)
			}
			gotCompleted := len(row.Conditions) == 1 && row.Conditions[0].Type == metav1.RowCompleted && row.Conditions[0].Status == metav1.ConditionTrue
			if gotCompleted != tt.completed {
				t.Errorf("row conditions = %+v, want completed=%v", row.Conditions, tt.completed)
			}
		})
	}
}
