package validation

import (
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"petset/internal/registry/defaults"
)

var statefulSetGK = schema.GroupKind{Group: "apps", Kind: "StatefulSet"}

// validStatefulSet is the seeds' "web" StatefulSet, defaulted as the API
// server would.
func validStatefulSet() *appsv1.StatefulSet {
	ss := &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default", ResourceVersion: "1"},
		Spec: appsv1.StatefulSetSpec{
			ServiceName: "nginx",
			Replicas:    ptrTo(int32(3)),
			Selector:    &metav1.LabelSelector{MatchLabels: map[string]string{"app": "nginx"}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "nginx"}},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{
					Name:         "nginx",
					Image:        "registry.k8s.io/nginx-slim:0.8",
					Ports:        []corev1.ContainerPort{{Name: "web", ContainerPort: 80}},
					VolumeMounts: []corev1.VolumeMount{{Name: "www", MountPath: "/usr/share/nginx/html"}},
				}}},
			},
			VolumeClaimTemplates: []corev1.PersistentVolumeClaim{{
				ObjectMeta: metav1.ObjectMeta{Name: "www"},
				Spec: corev1.PersistentVolumeClaimSpec{
					AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
					Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
				},
			}},
		},
	}
	defaults.StatefulSet(ss)
	return ss
}

// invalidMessage renders errs the way the API server's 422 message reads.
func invalidMessage(gk schema.GroupKind, name string, errs field.ErrorList) string {
	return apierrors.NewInvalid(gk, name, errs).Error()
}

func TestValidStatefulSet(t *testing.T) {
	if errs := ValidateStatefulSet(validStatefulSet()); len(errs) != 0 {
		t.Fatalf("valid statefulset rejected: %v", errs)
	}
}

func TestStatefulSetCreateErrors(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(*appsv1.StatefulSet)
		want   []string // each must appear in the kubectl message; nil = valid
	}{
		{"selector does not match template labels", func(ss *appsv1.StatefulSet) {
			ss.Spec.Template.Labels = map[string]string{"app": "x"}
		}, []string{`StatefulSet.apps "web" is invalid: spec.template.metadata.labels: Invalid value: {"app":"x"}: ` + "`selector` does not match template `labels`"}},
		{"upper-case name", func(ss *appsv1.StatefulSet) { ss.Name = "Web" }, []string{
			`metadata.name: Invalid value: "Web": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')`}},
		{"dotted name is not a label", func(ss *appsv1.StatefulSet) { ss.Name = "web.v1" }, []string{`metadata.name: Invalid value: "web.v1"`}},
		{"negative replicas", func(ss *appsv1.StatefulSet) { ss.Spec.Replicas = ptrTo(int32(-1)) }, []string{
			`spec.replicas: Invalid value: -1: must be greater than or equal to 0`}},
		{"missing selector", func(ss *appsv1.StatefulSet) { ss.Spec.Selector = nil }, []string{"spec.selector: Required value"}},
		{"empty selector", func(ss *appsv1.StatefulSet) { ss.Spec.Selector = &metav1.LabelSelector{} }, []string{"empty selector is invalid for statefulset"}},
		{"restartPolicy Never", func(ss *appsv1.StatefulSet) { ss.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyNever }, []string{
			`spec.template.spec.restartPolicy: Unsupported value: "Never": supported values: "Always"`}},
		{"activeDeadlineSeconds", func(ss *appsv1.StatefulSet) { ss.Spec.Template.Spec.ActiveDeadlineSeconds = ptrTo(int64(5)) }, []string{
			"spec.template.spec.activeDeadlineSeconds: Forbidden: activeDeadlineSeconds in StatefulSet is not Supported"}},
		{"OnDelete with rollingUpdate", func(ss *appsv1.StatefulSet) { ss.Spec.UpdateStrategy.Type = appsv1.OnDeleteStatefulSetStrategyType }, []string{
			"spec.updateStrategy.rollingUpdate: Invalid value:", "only allowed for updateStrategy 'RollingUpdate'"}},
		{"bad strategy type", func(ss *appsv1.StatefulSet) { ss.Spec.UpdateStrategy = appsv1.StatefulSetUpdateStrategy{Type: "Blue"} }, []string{
			"must be 'RollingUpdate' or 'OnDelete'"}},
		{"bad podManagementPolicy", func(ss *appsv1.StatefulSet) { ss.Spec.PodManagementPolicy = "Random" }, []string{
			`spec.podManagementPolicy: Invalid value: "Random": must be 'OrderedReady' or 'Parallel'`}},
		{"negative partition", func(ss *appsv1.StatefulSet) { ss.Spec.UpdateStrategy.RollingUpdate.Partition = ptrTo(int32(-2)) }, []string{
			"spec.updateStrategy.rollingUpdate.partition: Invalid value: -2: must be greater than or equal to 0"}},
		{"maxUnavailable 0", func(ss *appsv1.StatefulSet) {
			ss.Spec.UpdateStrategy.RollingUpdate.MaxUnavailable = ptrTo(intstr.FromInt32(0))
		}, []string{
			"spec.updateStrategy.rollingUpdate.maxUnavailable: Invalid value: 0: cannot be 0"}},
		{"maxUnavailable 0%", func(ss *appsv1.StatefulSet) {
			ss.Spec.UpdateStrategy.RollingUpdate.MaxUnavailable = ptrTo(intstr.FromString("0%"))
		}, []string{
			`spec.updateStrategy.rollingUpdate.maxUnavailable: Invalid value: "0%": cannot be 0`}},
		{"maxUnavailable 150%", func(ss *appsv1.StatefulSet) {
			ss.Spec.UpdateStrategy.RollingUpdate.MaxUnavailable = ptrTo(intstr.FromString("150%"))
		}, []string{
			"must not be greater than 100%"}},
		{"maxUnavailable garbage", func(ss *appsv1.StatefulSet) {
			ss.Spec.UpdateStrategy.RollingUpdate.MaxUnavailable = ptrTo(intstr.FromString("abc"))
		}, []string{
			"a valid percent string must be a numeric string followed by an ending '%'"}},
		{"retention policy", func(ss *appsv1.StatefulSet) { ss.Spec.PersistentVolumeClaimRetentionPolicy.WhenScaled = "Keep" }, []string{
			`spec.persistentVolumeClaimRetentionPolicy.whenScaled: Unsupported value: "Keep": supported values: "Retain", "Delete"`}},
		{"negative minReadySeconds", func(ss *appsv1.StatefulSet) { ss.Spec.MinReadySeconds = -1 }, []string{"spec.minReadySeconds: Invalid value: -1"}},
		{"negative ordinals", func(ss *appsv1.StatefulSet) { ss.Spec.Ordinals = &appsv1.StatefulSetOrdinals{Start: -1} }, []string{"spec.ordinals.start: Invalid value: -1"}},
		{"bad serviceName", func(ss *appsv1.StatefulSet) { ss.Spec.ServiceName = "Nginx_svc" }, []string{`spec.serviceName: Invalid value: "Nginx_svc"`}},
		{"container without image", func(ss *appsv1.StatefulSet) { ss.Spec.Template.Spec.Containers[0].Image = "" }, []string{
			"spec.template.spec.containers[0].image: Required value"}},
		{"mount of unknown volume", func(ss *appsv1.StatefulSet) { ss.Spec.Template.Spec.Containers[0].VolumeMounts[0].Name = "data" }, []string{
			`spec.template.spec.containers[0].volumeMounts[0].name: Not found: "data"`}},
		{"claim template without storage", func(ss *appsv1.StatefulSet) { ss.Spec.VolumeClaimTemplates[0].Spec.Resources.Requests = nil }, []string{
			"spec.volumeClaimTemplates[0].spec.resources[storage]: Required value"}},
		{"two claim templates, one unmounted, and a negative template grace period are fine", func(ss *appsv1.StatefulSet) {
			vct := ss.Spec.VolumeClaimTemplates[0].DeepCopy()
			vct.Name = "logs"
			ss.Spec.VolumeClaimTemplates = append(ss.Spec.VolumeClaimTemplates, *vct)
			ss.Spec.Template.Spec.TerminationGracePeriodSeconds = ptrTo(int64(-1))
		}, nil},
		{"claim template name not a volume name", func(ss *appsv1.StatefulSet) {
			ss.Spec.VolumeClaimTemplates[0].Name = "www.data"
			ss.Spec.Template.Spec.Containers[0].VolumeMounts[0].Name = "www.data"
		}, []string{`spec.template.spec.volumes[0].name: Invalid value: "www.data"`}},
		{"claim template without access modes", func(ss *appsv1.StatefulSet) { ss.Spec.VolumeClaimTemplates[0].Spec.AccessModes = nil }, []string{
			"spec.volumeClaimTemplates[0].spec.accessModes: Required value: at least 1 access mode is required"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ss := validStatefulSet()
			tc.mutate(ss)
			errs := ValidateStatefulSet(ss)
			if tc.want == nil {
				if len(errs) != 0 {
					t.Fatalf("rejected: %v", errs)
				}
				return
			}
			if len(errs) == 0 {
				t.Fatal("accepted")
			}
			msg := invalidMessage(statefulSetGK, ss.Name, errs)
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("message\n%s\ndoes not contain\n%s", msg, w)
				}
			}
		})
	}
}

func TestStatefulSetUpdate(t *testing.T) {
	// Kube 1.37 refuses each immutable field by name.
	immutable := func(field string) []string {
		return []string{`StatefulSet.apps "web" is invalid: ` + field + `: Invalid value: `, `: field is immutable`}
	}
	cases := []struct {
		name   string
		mutate func(*appsv1.StatefulSet)
		want   []string // nil = valid
	}{
		{"scale", func(ss *appsv1.StatefulSet) { ss.Spec.Replicas = ptrTo(int32(5)) }, nil},
		{"new image", func(ss *appsv1.StatefulSet) {
			ss.Spec.Template.Spec.Containers[0].Image = "registry.k8s.io/nginx-slim:0.9"
		}, nil},
		{"partition", func(ss *appsv1.StatefulSet) { ss.Spec.UpdateStrategy.RollingUpdate.Partition = ptrTo(int32(2)) }, nil},
		{"history limit", func(ss *appsv1.StatefulSet) { ss.Spec.RevisionHistoryLimit = ptrTo(int32(3)) }, nil},
		{"retention", func(ss *appsv1.StatefulSet) {
			ss.Spec.PersistentVolumeClaimRetentionPolicy.WhenDeleted = appsv1.DeletePersistentVolumeClaimRetentionPolicyType
		}, nil},
		{"minReadySeconds and ordinals", func(ss *appsv1.StatefulSet) {
			ss.Spec.MinReadySeconds = 10
			ss.Spec.Ordinals = &appsv1.StatefulSetOrdinals{Start: 5}
		}, nil},
		{"labels on the object", func(ss *appsv1.StatefulSet) { ss.Labels = map[string]string{"tier": "web"} }, nil},
		{"serviceName", func(ss *appsv1.StatefulSet) { ss.Spec.ServiceName = "other" }, []string{`spec.serviceName: Invalid value: "other": field is immutable`}},
		{"selector", func(ss *appsv1.StatefulSet) {
			ss.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"app": "nginx", "x": "y"}}
			ss.Spec.Template.Labels["x"] = "y"
		}, immutable("spec.selector")},
		{"claim template size", func(ss *appsv1.StatefulSet) {
			ss.Spec.VolumeClaimTemplates[0].Spec.Resources.Requests[corev1.ResourceStorage] = resource.MustParse("2Gi")
		}, immutable("spec.volumeClaimTemplates")},
		{"claim template labels", func(ss *appsv1.StatefulSet) {
			ss.Spec.VolumeClaimTemplates[0].Labels = map[string]string{"tier": "db"}
		}, immutable("spec.volumeClaimTemplates")},
		{"podManagementPolicy", func(ss *appsv1.StatefulSet) { ss.Spec.PodManagementPolicy = appsv1.ParallelPodManagement }, []string{`spec.podManagementPolicy: Invalid value: "Parallel": field is immutable`}},
		{"negative replicas", func(ss *appsv1.StatefulSet) { ss.Spec.Replicas = ptrTo(int32(-1)) }, []string{"spec.replicas: Invalid value: -1: must be greater than or equal to 0"}},
		{"name change", func(ss *appsv1.StatefulSet) { ss.Name = "web2" }, []string{`metadata.name: Invalid value: "web2": field is immutable`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			old := validStatefulSet()
			ss := old.DeepCopy()
			tc.mutate(ss)
			errs := ValidateStatefulSetUpdate(ss, old)
			if tc.want == nil {
				if len(errs) != 0 {
					t.Fatalf("rejected: %v", errs)
				}
				return
			}
			msg := invalidMessage(statefulSetGK, "web", errs)
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("message\n%s\ndoes not contain\n%s", msg, w)
				}
			}
		})
	}
}

// An object stored before template validation existed can still be updated
// when the update does not touch the template (ratcheting).
func TestStatefulSetUpdateRatchetsTemplateValidation(t *testing.T) {
	old := validStatefulSet()
	old.Spec.Template.Spec.Containers[0].VolumeMounts[0].Name = "missing"
	ss := old.DeepCopy()
	ss.Spec.Replicas = ptrTo(int32(1))
	if errs := ValidateStatefulSetUpdate(ss, old); len(errs) != 0 {
		t.Fatalf("unchanged invalid template blocked a scale: %v", errs)
	}
	ss.Spec.Template.Spec.Containers[0].Image = "nginx:2"
	if errs := ValidateStatefulSetUpdate(ss, old); len(errs) == 0 {
		t.Fatal("changed invalid template accepted")
	}
}

func TestStatefulSetStatusUpdate(t *testing.T) {
	cases := []struct {
		name   string
		status appsv1.StatefulSetStatus
		want   string
	}{
		{"valid", appsv1.StatefulSetStatus{Replicas: 3, ReadyReplicas: 2, AvailableReplicas: 2, CurrentReplicas: 3, UpdatedReplicas: 1, CollisionCount: ptrTo(int32(1)), ObservedGeneration: 2}, ""},
		{"ready > replicas", appsv1.StatefulSetStatus{Replicas: 1, ReadyReplicas: 2, CollisionCount: ptrTo(int32(1))}, "status.readyReplicas: Invalid value: 2: cannot be greater than status.replicas"},
		{"available > ready", appsv1.StatefulSetStatus{Replicas: 3, ReadyReplicas: 1, AvailableReplicas: 2, CollisionCount: ptrTo(int32(1))}, "status.availableReplicas: Invalid value: 2: cannot be greater than status.readyReplicas"},
		{"negative", appsv1.StatefulSetStatus{Replicas: -1, CollisionCount: ptrTo(int32(1))}, "status.replicas: Invalid value: -1: must be greater than or equal to 0"},
		{"collisionCount decremented", appsv1.StatefulSetStatus{CollisionCount: ptrTo(int32(0))}, "status.collisionCount: Invalid value: 0: cannot be decremented"},
		{"collisionCount removed", appsv1.StatefulSetStatus{}, "status.collisionCount: Invalid value: 0: cannot be decremented"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			old := validStatefulSet()
			old.Status.CollisionCount = ptrTo(int32(1))
			ss := old.DeepCopy()
			ss.Status = tc.status
			errs := ValidateStatefulSetStatusUpdate(ss, old)
			if tc.want == "" {
				if len(errs) != 0 {
					t.Fatalf("rejected: %v", errs)
				}
				return
			}
			if msg := invalidMessage(statefulSetGK, "web", errs); !strings.Contains(msg, tc.want) {
				t.Fatalf("message\n%s\ndoes not contain\n%s", msg, tc.want)
			}
		})
	}
}

func TestControllerRevision(t *testing.T) {
	cr := &appsv1.ControllerRevision{
		ObjectMeta: metav1.ObjectMeta{Name: "web-c77f6d978", Namespace: "default", ResourceVersion: "7"},
		Data:       runtime.RawExtension{Raw: []byte(`{"spec":{}}`)},
		Revision:   1,
	}
	if errs := ValidateControllerRevision(cr); len(errs) != 0 {
		t.Fatalf("valid revision rejected: %v", errs)
	}
	bad := cr.DeepCopy()
	bad.Data = runtime.RawExtension{}
	bad.Revision = -1
	msg := field.ErrorList(ValidateControllerRevision(bad)).ToAggregate().Error()
	for _, w := range []string{"data: Required value: data is mandatory", "revision: Invalid value: -1: must be greater than or equal to 0"} {
		if !strings.Contains(msg, w) {
			t.Errorf("%q missing %q", msg, w)
		}
	}
	changed := cr.DeepCopy()
	changed.Data = runtime.RawExtension{Raw: []byte(`{"spec":{"x":1}}`)}
	if errs := ValidateControllerRevisionUpdate(changed, cr); len(errs) == 0 || !strings.Contains(errs.ToAggregate().Error(), "data: Invalid value") {
		t.Fatalf("data change not rejected: %v", errs)
	}
	relabeled := cr.DeepCopy()
	relabeled.Labels = map[string]string{"a": "b"}
	if errs := ValidateControllerRevisionUpdate(relabeled, cr); len(errs) != 0 {
		t.Fatalf("label change rejected: %v", errs)
	}
}
