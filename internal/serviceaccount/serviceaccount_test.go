package serviceaccount

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apiserver/pkg/authentication/user"
)

// objects is an in-memory Getter.
type objects struct {
	sas  map[string]*corev1.ServiceAccount
	pods map[string]*corev1.Pod
}

func (o objects) ServiceAccount(_ context.Context, ns, name string) (*corev1.ServiceAccount, error) {
	if sa, ok := o.sas[ns+"/"+name]; ok {
		return sa, nil
	}
	return nil, apierrors.NewNotFound(corev1.Resource("serviceaccounts"), name)
}

func (o objects) Pod(_ context.Context, ns, name string) (*corev1.Pod, error) {
	if p, ok := o.pods[ns+"/"+name]; ok {
		return p, nil
	}
	return nil, apierrors.NewNotFound(corev1.Resource("pods"), name)
}

func TestEnsureKeys(t *testing.T) {
	dir := t.TempDir()
	keyPath, pubPath := filepath.Join(dir, "sa.key"), filepath.Join(dir, "sa.pub")
	k1, err := EnsureKeys(keyPath, pubPath)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(keyPath)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("sa.key mode %v, want 0600", st.Mode().Perm())
	}
	k2, err := EnsureKeys(keyPath, pubPath)
	if err != nil {
		t.Fatal(err)
	}
	if !k1.Equal(k2) {
		t.Error("second start generated a new key")
	}
	pub, err := ReadPublicKey(pubPath)
	if err != nil || !pub.Equal(&k1.PublicKey) {
		t.Errorf("sa.pub does not hold the key's public half: %v", err)
	}
}

func TestTokens(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	iss, err := NewIssuer("", key)
	if err != nil {
		t.Fatal(err)
	}
	otherIss, err := NewIssuer("", other)
	if err != nil {
		t.Fatal(err)
	}
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "bot", UID: "sa-uid"}}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "p", UID: "pod-uid"}}
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1", UID: "node-uid"}}
	gone := metav1.NewTime(time.Now().Add(-2 * time.Minute))
	deletedPod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "old", UID: "old-uid", DeletionTimestamp: &gone}}
	store := objects{
		sas:  map[string]*corev1.ServiceAccount{"ns/bot": sa},
		pods: map[string]*corev1.Pod{"ns/p": pod, "ns/old": deletedPod},
	}
	auth := NewAuthenticator("", []*rsa.PublicKey{&key.PublicKey}, nil, store)
	now := time.Now()
	issue := func(i *Issuer, sa *corev1.ServiceAccount, pod *corev1.Pod, at time.Time, exp time.Duration, aud ...string) string {
		t.Helper()
		if len(aud) == 0 {
			aud = []string{DefaultIssuer}
		}
		sc, pc := Claims(sa, pod, node, at, exp, aud)
		tok, err := i.Issue(sc, pc)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	recreated := sa.DeepCopy()
	recreated.UID = "older-uid"
	cases := []struct {
		name    string
		token   string
		ok      bool
		errLike string
	}{
		{"bound token", issue(iss, sa, pod, now, time.Hour), true, ""},
		{"unbound token", issue(iss, sa, nil, now, time.Hour), true, ""},
		{"not a JWT is not ours", "abcdef0123", false, ""},
		{"expired", issue(iss, sa, pod, now.Add(-2*time.Hour), time.Hour), false, "has expired"},
		{"wrong audience", issue(iss, sa, pod, now, time.Hour, "vault"), false, "audiences"},
		{"other key", issue(otherIss, sa, pod, now, time.Hour), false, "signature"},
		{"service account recreated", issue(iss, recreated, pod, now, time.Hour), false, "invalidated"},
		{"pod gone", issue(iss, sa, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "x", UID: "x"}}, now, time.Hour), false, "invalidated"},
		{"pod deleted over a minute ago", issue(iss, sa, deletedPod, now, time.Hour), false, "invalidated"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res, ok, err := auth.AuthenticateToken(context.Background(), c.token)
			if ok != c.ok {
				t.Fatalf("ok = %v (err %v), want %v", ok, err, c.ok)
			}
			if c.errLike != "" && (err == nil || !strings.Contains(err.Error(), c.errLike)) {
				t.Fatalf("err = %v, want one containing %q", err, c.errLike)
			}
			if !c.ok {
				return
			}
			u := res.User
			if u.GetName() != "system:serviceaccount:ns:bot" || u.GetUID() != "sa-uid" {
				t.Errorf("user %q uid %q", u.GetName(), u.GetUID())
			}
			want := []string{"system:serviceaccounts", "system:serviceaccounts:ns", user.AllAuthenticated}
			if strings.Join(u.GetGroups(), ",") != strings.Join(want, ",") {
				t.Errorf("groups %v, want %v", u.GetGroups(), want)
			}
		})
	}
	res, _, err := auth.AuthenticateToken(context.Background(), issue(iss, sa, pod, now, time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	extra := res.User.GetExtra()
	if extra["authentication.kubernetes.io/pod-name"][0] != "p" || extra["authentication.kubernetes.io/node-name"][0] != "n1" {
		t.Errorf("extra %v lacks the pod and node", extra)
	}
}

func TestMountToken(t *testing.T) {
	no := false
	pod := &corev1.Pod{Spec: corev1.PodSpec{
		InitContainers: []corev1.Container{{Name: "init"}},
		Containers:     []corev1.Container{{Name: "a"}, {Name: "own", VolumeMounts: []corev1.VolumeMount{{Name: "mine", MountPath: MountPath}}}},
	}}
	DefaultServiceAccountName(pod)
	if pod.Spec.ServiceAccountName != "default" {
		t.Fatalf("serviceAccountName %q", pod.Spec.ServiceAccountName)
	}
	MountToken(pod)
	if len(pod.Spec.Volumes) != 1 || !strings.HasPrefix(pod.Spec.Volumes[0].Name, "kube-api-access-") || len(pod.Spec.Volumes[0].Name) != len("kube-api-access-")+5 {
		t.Fatalf("volumes %+v", pod.Spec.Volumes)
	}
	v := pod.Spec.Volumes[0].Projected
	if v == nil || len(v.Sources) != 3 || *v.Sources[0].ServiceAccountToken.ExpirationSeconds != 3607 ||
		v.Sources[1].ConfigMap.Name != "kube-root-ca.crt" || v.Sources[2].DownwardAPI.Items[0].FieldRef.FieldPath != "metadata.namespace" {
		t.Fatalf("projected volume %+v", v)
	}
	name := pod.Spec.Volumes[0].Name
	for _, c := range []corev1.Container{pod.Spec.InitContainers[0], pod.Spec.Containers[0]} {
		if len(c.VolumeMounts) != 1 || c.VolumeMounts[0].Name != name || !c.VolumeMounts[0].ReadOnly || c.VolumeMounts[0].MountPath != MountPath {
			t.Errorf("container %s mounts %+v", c.Name, c.VolumeMounts)
		}
	}
	if m := pod.Spec.Containers[1].VolumeMounts; len(m) != 1 || m[0].Name != "mine" {
		t.Errorf("a container with its own mount at the path got %+v", m)
	}
	MountToken(pod)
	if len(pod.Spec.Volumes) != 1 || len(pod.Spec.Containers[0].VolumeMounts) != 1 {
		t.Error("a second MountToken added more")
	}

	sa := &corev1.ServiceAccount{AutomountServiceAccountToken: &no}
	if ShouldAutomount(sa, &corev1.Pod{}) {
		t.Error("the ServiceAccount's automount false was ignored")
	}
	yes := true
	if !ShouldAutomount(sa, &corev1.Pod{Spec: corev1.PodSpec{AutomountServiceAccountToken: &yes}}) {
		t.Error("the pod's automount true should win")
	}
	if ShouldAutomount(&corev1.ServiceAccount{}, &corev1.Pod{Spec: corev1.PodSpec{AutomountServiceAccountToken: &no}}) {
		t.Error("the pod's automount false was ignored")
	}
}
