package printers

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/cli-runtime/pkg/printers"
)

// kubectlOutput sends the table over JSON, as the API server does, and prints
// it with kubectl's own table printer.
func kubectlOutput(t *testing.T, table *metav1.Table, wide bool) string {
	t.Helper()
	b, err := json.Marshal(table)
	if err != nil {
		t.Fatal(err)
	}
	var received metav1.Table
	if err := json.Unmarshal(b, &received); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := printers.NewTablePrinter(printers.PrintOptions{Wide: wide}).PrintObj(&received, &out); err != nil {
		t.Fatal(err)
	}
	return out.String()
}

func TestKubectlPrintsTheTable(t *testing.T) {
	pods := &corev1.PodList{ListMeta: metav1.ListMeta{ResourceVersion: "10"}, Items: []corev1.Pod{
		{
			ObjectMeta: objMeta("web-0", 5*time.Minute),
			Spec:       corev1.PodSpec{NodeName: "node1", Containers: []corev1.Container{{Name: "nginx"}}},
			Status: corev1.PodStatus{
				Phase: corev1.PodRunning, PodIPs: []corev1.PodIP{{IP: "10.244.0.5"}},
				Conditions:        []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}},
				ContainerStatuses: []corev1.ContainerStatus{{Name: "nginx", Ready: true, State: running()}},
			},
		},
		{
			ObjectMeta: objMeta("web-1", 1*time.Minute),
			Spec:       corev1.PodSpec{NodeName: "node1", Containers: []corev1.Container{{Name: "nginx"}}},
			Status: corev1.PodStatus{
				Phase:             corev1.PodPending,
				ContainerStatuses: []corev1.ContainerStatus{{Name: "nginx", State: waiting("ContainerCreating")}},
			},
		},
	}}
	sts := &appsv1.StatefulSet{
		ObjectMeta: objMeta("web", 10*time.Minute),
		Spec: appsv1.StatefulSetSpec{Replicas: ptr(int32(3)), Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
			Containers: []corev1.Container{{Name: "nginx", Image: "registry.k8s.io/nginx-slim:0.21"}},
		}}},
		Status: appsv1.StatefulSetStatus{ReadyReplicas: 2},
	}
	sc := &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: "standard", CreationTimestamp: ago(time.Hour),
		Annotations: map[string]string{"storageclass.kubernetes.io/is-default-class": "true"}}, Provisioner: "petset.io/local-path"}

	tests := []struct {
		name string
		gr   schema.GroupResource
		obj  runtime.Object
		wide bool
		want string
	}{
		{
			name: "get pods", gr: podsGR, obj: pods,
			want: "NAME    READY   STATUS              RESTARTS   AGE\n" +
				"web-0   1/1     Running             0          5m\n" +
				"web-1   0/1     ContainerCreating   0          60s\n",
		},
		{
			name: "get pods -o wide", gr: podsGR, obj: pods, wide: true,
			want: "NAME    READY   STATUS              RESTARTS   AGE   IP           NODE    NOMINATED NODE   READINESS GATES\n" +
				"web-0   1/1     Running             0          5m    10.244.0.5   node1   <none>           <none>\n" +
				"web-1   0/1     ContainerCreating   0          60s   <none>       node1   <none>           <none>\n",
		},
		{
			name: "get sts", gr: schema.GroupResource{Group: "apps", Resource: "statefulsets"}, obj: sts,
			want: "NAME   READY   AGE\n" +
				"web    2/3     10m\n",
		},
		{
			name: "get sts -o wide", gr: schema.GroupResource{Group: "apps", Resource: "statefulsets"}, obj: sts, wide: true,
			want: "NAME   READY   AGE   CONTAINERS   IMAGES\n" +
				"web    2/3     10m   nginx        registry.k8s.io/nginx-slim:0.21\n",
		},
		{
			name: "get storageclass", gr: schema.GroupResource{Group: "storage.k8s.io", Resource: "storageclasses"}, obj: sc,
			want: "NAME                 PROVISIONER            RECLAIMPOLICY   VOLUMEBINDINGMODE   ALLOWVOLUMEEXPANSION   AGE\n" +
				"standard (default)   petset.io/local-path   Delete          Immediate           false                  60m\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := kubectlOutput(t, convertAt(t, tt.gr, tt.obj, nil), tt.wide)
			if got != tt.want {
				t.Errorf("kubectl prints\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}
