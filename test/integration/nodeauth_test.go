package integration

import (
	"context"
	"path/filepath"
	"testing"

	authenticationv1 "k8s.io/api/authentication/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	restclient "k8s.io/client-go/rest"

	"petset/internal/pki"
	"petset/internal/pvnode"
)

// nodePod is a pod bound to node that mounts secret and reads configMap.
func nodePod(name, node, secret, configMap string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PodSpec{
			NodeName: node,
			Containers: []corev1.Container{{
				Name: "c", Image: "busybox", Command: []string{"sleep", "infinity"},
				Env: []corev1.EnvVar{{Name: "X", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{
					LocalObjectReference: corev1.LocalObjectReference{Name: configMap}, Key: "k",
				}}}},
			}},
			Volumes: []corev1.Volume{{Name: "s", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: secret}}}},
		},
	}
}

func mustForbid(t *testing.T, what string, err error) {
	t.Helper()
	if !apierrors.IsForbidden(err) {
		t.Errorf("%s: want 403 Forbidden, got %v", what, err)
	}
}

func mustAllow(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Errorf("%s: %v", what, err)
	}
}

func TestNodeAuthorization(t *testing.T) {
	c := startCluster(t, "")
	ctx := context.Background()
	ca, err := pki.Files{Dir: filepath.Join(c.dataDir, "pki")}.LoadCA()
	if err != nil {
		t.Fatal(err)
	}
	nodeA := certClient(t, c, ca, "system:node:a", "system:nodes")
	ns := "default"
	for _, s := range []string{"sa", "sb", "unused"} {
		if _, err := c.client.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: s}, StringData: map[string]string{"k": s}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	for _, cm := range []string{"ca", "cb"} {
		if _, err := c.client.CoreV1().ConfigMaps(ns).Create(ctx, configMap(cm, cm), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range []string{"b"} {
		if _, err := c.client.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: n}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	pa, err := c.client.CoreV1().Pods(ns).Create(ctx, nodePod("pa", "a", "sa", "ca"), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pb, err := c.client.CoreV1().Pods(ns).Create(ctx, nodePod("pb", "b", "sb", "cb"), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}

	// Objects of node a's pods: by name, once the authorizer has seen the pod.
	eventually(t, "node a reads the secret of its pod", func() (bool, error) {
		_, err := nodeA.CoreV1().Secrets(ns).Get(ctx, "sa", metav1.GetOptions{})
		return err == nil, err
	})
	_, err = nodeA.CoreV1().ConfigMaps(ns).Get(ctx, "ca", metav1.GetOptions{})
	mustAllow(t, "node a gets the configmap of its pod", err)
	_, err = nodeA.CoreV1().Secrets(ns).Get(ctx, "sb", metav1.GetOptions{})
	mustForbid(t, "node a gets the secret of node b's pod", err)
	_, err = nodeA.CoreV1().ConfigMaps(ns).Get(ctx, "cb", metav1.GetOptions{})
	mustForbid(t, "node a gets the configmap of node b's pod", err)
	_, err = nodeA.CoreV1().Secrets(ns).Get(ctx, "unused", metav1.GetOptions{})
	mustForbid(t, "node a gets a secret no pod uses", err)
	_, err = nodeA.CoreV1().Secrets("").List(ctx, metav1.ListOptions{})
	mustForbid(t, "node a lists all secrets", err)
	_, err = nodeA.CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{})
	mustForbid(t, "node a lists the secrets of a namespace", err)
	// One object by a metadata.name field selector: list and watch, as the
	// agent follows what its pods name.
	byName := func(name string) metav1.ListOptions {
		return metav1.ListOptions{FieldSelector: fields.OneTermEqualSelector("metadata.name", name).String()}
	}
	list, err := nodeA.CoreV1().ConfigMaps(ns).List(ctx, byName("ca"))
	mustAllow(t, "node a lists the configmap of its pod by name", err)
	if err == nil && (len(list.Items) != 1 || list.Items[0].Name != "ca") {
		t.Errorf("node a's list of configmap ca: %d items", len(list.Items))
	}
	w, err := nodeA.CoreV1().Secrets(ns).Watch(ctx, byName("sa"))
	mustAllow(t, "node a watches the secret of its pod by name", err)
	if err == nil {
		w.Stop()
	}
	_, err = nodeA.CoreV1().ConfigMaps(ns).List(ctx, byName("cb"))
	mustForbid(t, "node a lists the configmap of node b's pod by name", err)
	_, err = nodeA.CoreV1().Secrets(ns).Watch(ctx, byName("sb"))
	mustForbid(t, "node a watches the secret of node b's pod by name", err)
	_, err = nodeA.CoreV1().PersistentVolumeClaims(ns).List(ctx, byName("x"))
	mustForbid(t, "node a lists claims by name", err)

	// PersistentVolumes: list and watch only those pinned to the node, by
	// the petset.io/pinned-node field selector.
	for _, pin := range []struct{ name, node string }{{"pv-a", "a"}, {"pv-b", "b"}, {"pv-none", ""}} {
		pv := &corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: pin.name}, Spec: corev1.PersistentVolumeSpec{
			Capacity:               corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")},
			AccessModes:            []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			PersistentVolumeSource: corev1.PersistentVolumeSource{Local: &corev1.LocalVolumeSource{Path: "/data/" + pin.name}},
		}}
		if pin.node != "" {
			pv.Spec.NodeAffinity = &corev1.VolumeNodeAffinity{Required: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
				MatchExpressions: []corev1.NodeSelectorRequirement{{Key: corev1.LabelHostname, Operator: corev1.NodeSelectorOpIn, Values: []string{pin.node}}}}}}}
		} else {
			pv.Spec.Local = nil
			pv.Spec.HostPath = &corev1.HostPathVolumeSource{Path: "/data/none"}
		}
		if _, err := c.client.CoreV1().PersistentVolumes().Create(ctx, pv, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	pinned := func(node string) metav1.ListOptions {
		return metav1.ListOptions{FieldSelector: pvnode.Selector(node)}
	}
	pvs, err := nodeA.CoreV1().PersistentVolumes().List(ctx, pinned("a"))
	mustAllow(t, "node a lists the volumes pinned to it", err)
	if err == nil && (len(pvs.Items) != 1 || pvs.Items[0].Name != "pv-a") {
		t.Errorf("node a's volumes: %d items, want pv-a only", len(pvs.Items))
	}
	w, err = nodeA.CoreV1().PersistentVolumes().Watch(ctx, pinned("a"))
	mustAllow(t, "node a watches the volumes pinned to it", err)
	if err == nil {
		w.Stop()
	}
	_, err = nodeA.CoreV1().PersistentVolumes().List(ctx, metav1.ListOptions{})
	mustForbid(t, "node a lists all volumes", err)
	_, err = nodeA.CoreV1().PersistentVolumes().Watch(ctx, metav1.ListOptions{})
	mustForbid(t, "node a watches all volumes", err)
	_, err = nodeA.CoreV1().PersistentVolumes().List(ctx, pinned("b"))
	mustForbid(t, "node a lists node b's volumes", err)
	_, err = nodeA.CoreV1().PersistentVolumes().List(ctx, metav1.ListOptions{FieldSelector: pvnode.Selector("a") + ",metadata.name=pv-b"})
	mustForbid(t, "node a lists with its selector and another term", err)
	// The field, as any selectable field, serves everyone.
	pvs, err = c.client.CoreV1().PersistentVolumes().List(ctx, pinned(""))
	if err != nil || len(pvs.Items) != 1 || pvs.Items[0].Name != "pv-none" {
		t.Errorf("admin's list of volumes pinned to no node: %v, %v", pvs, err)
	}

	// Nodes: its own, not others.
	_, err = nodeA.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "a", Labels: map[string]string{"kubernetes.io/hostname": "a"}}}, metav1.CreateOptions{})
	mustAllow(t, "node a registers itself", err)
	_, err = nodeA.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "c"}}, metav1.CreateOptions{})
	mustForbid(t, "node a registers node c", err)
	patch := []byte(`{"metadata":{"labels":{"example.com/mine":"yes"}}}`)
	_, err = nodeA.CoreV1().Nodes().Patch(ctx, "a", types.MergePatchType, patch, metav1.PatchOptions{})
	mustAllow(t, "node a labels itself", err)
	_, err = nodeA.CoreV1().Nodes().Patch(ctx, "b", types.MergePatchType, patch, metav1.PatchOptions{})
	mustForbid(t, "node a patches node b", err)
	_, err = nodeA.CoreV1().Nodes().Patch(ctx, "b", types.MergePatchType, []byte(`{"status":{"conditions":[{"type":"Ready","status":"False"}]}}`), metav1.PatchOptions{}, "status")
	mustForbid(t, "node a patches node b's status", err)
	_, err = nodeA.CoreV1().Nodes().Patch(ctx, "a", types.MergePatchType, []byte(`{"metadata":{"labels":{"node-restriction.kubernetes.io/trusted":"yes"}}}`), metav1.PatchOptions{})
	mustForbid(t, "node a sets a node-restriction.kubernetes.io label", err)
	_, err = nodeA.CoreV1().Nodes().Patch(ctx, "a", types.MergePatchType, []byte(`{"metadata":{"labels":{"node-role.kubernetes.io/control-plane":""}}}`), metav1.PatchOptions{})
	mustForbid(t, "node a sets a kubernetes.io label that is not kubelet's", err)
	mustForbid(t, "node a deletes node b", nodeA.CoreV1().Nodes().Delete(ctx, "b", metav1.DeleteOptions{}))

	// Pods: status of its own only; no creation, no deleting others'.
	pa.Status.Message = "from a"
	_, err = nodeA.CoreV1().Pods(ns).UpdateStatus(ctx, pa, metav1.UpdateOptions{})
	mustAllow(t, "node a updates its pod's status", err)
	pb.Status.Message = "from a"
	_, err = nodeA.CoreV1().Pods(ns).UpdateStatus(ctx, pb, metav1.UpdateOptions{})
	mustForbid(t, "node a updates node b's pod status", err)
	_, err = nodeA.CoreV1().Pods(ns).Patch(ctx, "pb", types.MergePatchType, []byte(`{"status":{"message":"x"}}`), metav1.PatchOptions{}, "status")
	mustForbid(t, "node a patches node b's pod status", err)
	hostPath := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "evil"}, Spec: corev1.PodSpec{NodeName: "a",
		Containers: []corev1.Container{{Name: "c", Image: "busybox"}},
		Volumes:    []corev1.Volume{{Name: "root", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/"}}}}}}
	_, err = nodeA.CoreV1().Pods(ns).Create(ctx, hostPath, metav1.CreateOptions{})
	mustForbid(t, "node a creates a hostPath pod", err)
	mustForbid(t, "node a deletes node b's pod", nodeA.CoreV1().Pods(ns).Delete(ctx, "pb", metav1.DeleteOptions{}))
	_, err = nodeA.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	mustAllow(t, "node a lists pods (kube's system:node)", err)
	// The agent enforces network policies: it reads them and namespaces.
	_, err = nodeA.NetworkingV1().NetworkPolicies("").List(ctx, metav1.ListOptions{})
	mustAllow(t, "node a lists network policies", err)
	_, err = nodeA.CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
	mustAllow(t, "node a lists namespaces", err)
	_, err = nodeA.NetworkingV1().NetworkPolicies(ns).Create(ctx, &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: "x"}}, metav1.CreateOptions{})
	mustForbid(t, "node a creates a network policy", err)

	// Service-account tokens: only bound to a pod of its own (NodeRestriction).
	boundTo := func(p *corev1.Pod) *authenticationv1.TokenRequest {
		return &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{
			BoundObjectRef: &authenticationv1.BoundObjectReference{APIVersion: "v1", Kind: "Pod", Name: p.Name, UID: p.UID}}}
	}
	_, err = nodeA.CoreV1().ServiceAccounts(ns).CreateToken(ctx, pa.Spec.ServiceAccountName, boundTo(pa), metav1.CreateOptions{})
	mustAllow(t, "node a requests a token bound to its pod", err)
	_, err = nodeA.CoreV1().ServiceAccounts(ns).CreateToken(ctx, pb.Spec.ServiceAccountName, boundTo(pb), metav1.CreateOptions{})
	mustForbid(t, "node a requests a token bound to node b's pod", err)
	_, err = nodeA.CoreV1().ServiceAccounts(ns).CreateToken(ctx, pa.Spec.ServiceAccountName, &authenticationv1.TokenRequest{}, metav1.CreateOptions{})
	mustForbid(t, "node a requests an unbound token", err)

	// Leases: its own.
	lease := func(name string) *coordinationv1.Lease {
		return &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "kube-node-lease"}}
	}
	_, err = nodeA.CoordinationV1().Leases("kube-node-lease").Create(ctx, lease("a"), metav1.CreateOptions{})
	mustAllow(t, "node a creates its lease", err)
	_, err = nodeA.CoordinationV1().Leases("kube-node-lease").Create(ctx, lease("b"), metav1.CreateOptions{})
	mustForbid(t, "node a creates node b's lease", err)

	// No impersonation, no other kinds.
	imp := restclient.CopyConfig(c.config)
	imp.BearerToken = ""
	imp.CertFile, imp.KeyFile = certFiles(t, ca, "system:node:a", "system:nodes")
	imp.Impersonate = restclient.ImpersonationConfig{UserName: "petset-admin", Groups: []string{"system:masters"}}
	impClient, err := kubernetes.NewForConfig(imp)
	if err != nil {
		t.Fatal(err)
	}
	_, err = impClient.CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{})
	mustForbid(t, "node a impersonates the admin", err)
	_, err = nodeA.AppsV1().StatefulSets(ns).List(ctx, metav1.ListOptions{})
	mustForbid(t, "node a lists statefulsets", err)
	_, err = nodeA.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "x"}}, metav1.CreateOptions{})
	mustForbid(t, "node a creates a namespace", err)
}

// certFiles issues a client certificate for user/groups and returns its
// certificate and key files.
func certFiles(t *testing.T, ca *pki.CA, user string, groups ...string) (string, string) {
	t.Helper()
	dir := t.TempDir()
	crt, key := filepath.Join(dir, "c.crt"), filepath.Join(dir, "c.key")
	if err := ca.IssueClient(crt, key, user, groups, 3600e9); err != nil {
		t.Fatal(err)
	}
	return crt, key
}
