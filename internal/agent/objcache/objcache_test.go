package objcache

import (
	"context"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8stypes "k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
)

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func gets(client *fake.Clientset) int {
	n := 0
	for _, a := range client.Actions() {
		if a.GetVerb() == "get" {
			n++
		}
	}
	return n
}

func podNaming(uid, cm, secret string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: uid, UID: k8stypes.UID("uid-" + uid)},
		Spec: corev1.PodSpec{
			Volumes: []corev1.Volume{{Name: "p", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{
				Sources: []corev1.VolumeProjection{{ConfigMap: &corev1.ConfigMapProjection{LocalObjectReference: corev1.LocalObjectReference{Name: cm}}}},
			}}}},
			Containers: []corev1.Container{{Name: "c", Env: []corev1.EnvVar{{Name: "S", ValueFrom: &corev1.EnvVarSource{
				SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: secret}, Key: "k"},
			}}}}},
		},
	}
}

// TestReadsFromWatchAndFollowsChanges: once a pod naming a ConfigMap is
// registered, reads cost no GET and see updates; a missing object is
// NotFound; the watch stops with its last pod, and an unregistered object
// is read with a GET.
func TestReadsFromWatchAndFollowsChanges(t *testing.T) {
	ctx := context.Background()
	client := fake.NewSimpleClientset(
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "ca"}, Data: map[string]string{"ca.crt": "one"}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "s"}, Data: map[string][]byte{"k": []byte("v")}},
	)
	c := New(client)
	defer c.Stop()
	a, b := podNaming("a", "ca", "s"), podNaming("b", "ca", "missing")
	c.Register(a)
	c.Register(b)
	if got := c.Watches(); got != 3 {
		t.Fatalf("watches: got %d, want 3 (ca, s, missing)", got)
	}
	cm, err := c.ConfigMap(ctx, "ns", "ca")
	if err != nil || cm.Data["ca.crt"] != "one" {
		t.Fatalf("ConfigMap: %v %v", cm, err)
	}
	if s, err := c.Secret(ctx, "ns", "s"); err != nil || string(s.Data["k"]) != "v" {
		t.Fatalf("Secret: %v %v", s, err)
	}
	if _, err := c.Secret(ctx, "ns", "missing"); !apierrors.IsNotFound(err) {
		t.Fatalf("missing secret: got %v, want NotFound", err)
	}
	if n := gets(client); n != 0 {
		t.Errorf("reads of registered objects made %d GETs, want 0", n)
	}

	if _, err := client.CoreV1().ConfigMaps("ns").Update(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "ca"}, Data: map[string]string{"ca.crt": "two"}}, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the update seen", func() bool {
		cm, err := c.ConfigMap(ctx, "ns", "ca")
		return err == nil && cm.Data["ca.crt"] == "two"
	})

	c.Unregister(a.UID)
	if got := c.Watches(); got != 2 {
		t.Errorf("after a's unregistration: %d watches, want 2 (ca still named by b)", got)
	}
	c.Unregister(b.UID)
	if got := c.Watches(); got != 0 {
		t.Errorf("after b's: %d watches, want 0", got)
	}
	client.ClearActions()
	if s, err := c.Secret(ctx, "ns", "s"); err != nil || string(s.Data["k"]) != "v" {
		t.Fatalf("Secret of no registered pod: %v %v", s, err)
	}
	if n := gets(client); n != 1 {
		t.Errorf("a read of an unregistered object made %d GETs, want 1", n)
	}
}

// TestRegisterDropsWhatAPodNoLongerNames: registering a pod again with
// other references moves its references.
func TestRegisterDropsWhatAPodNoLongerNames(t *testing.T) {
	client := fake.NewSimpleClientset()
	c := New(client)
	defer c.Stop()
	p := podNaming("a", "one", "s")
	c.Register(p)
	p2 := podNaming("a", "two", "s")
	c.Register(p2)
	var names []string
	c.mu.Lock()
	for r := range c.items {
		names = append(names, r.Name)
	}
	c.mu.Unlock()
	slices.Sort(names)
	if !slices.Equal(names, []string{"s", "two"}) {
		t.Errorf("watched %v, want [s two]", names)
	}
}

func TestReferences(t *testing.T) {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns"}, Spec: corev1.PodSpec{
		Volumes: []corev1.Volume{
			{Name: "a", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "cm1"}}}},
			{Name: "b", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "s1"}}},
			{Name: "c", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{
				{ConfigMap: &corev1.ConfigMapProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "cm1"}}},
				{Secret: &corev1.SecretProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "s2"}}},
				{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "token"}},
			}}}},
			{Name: "d", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
		},
		InitContainers: []corev1.Container{{Name: "i", EnvFrom: []corev1.EnvFromSource{{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "cm2"}}}}}},
		Containers: []corev1.Container{{Name: "m", Env: []corev1.EnvVar{
			{Name: "X", Value: "x"},
			{Name: "Y", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "cm3"}, Key: "k"}}},
		}, EnvFrom: []corev1.EnvFromSource{{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "s1"}}}}}},
		EphemeralContainers: []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "dbg",
			EnvFrom: []corev1.EnvFromSource{{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "s3"}}}}}}},
	}}
	var got []string
	for _, r := range References(p) {
		got = append(got, string(r.Kind)+"/"+r.Namespace+"/"+r.Name)
	}
	want := []string{"configmaps/ns/cm1", "secrets/ns/s1", "secrets/ns/s2", "configmaps/ns/cm2", "configmaps/ns/cm3", "secrets/ns/s3"}
	if !slices.Equal(got, want) {
		t.Errorf("References:\n got %v\nwant %v", got, want)
	}
}
