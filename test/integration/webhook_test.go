package integration

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	certutil "k8s.io/client-go/util/cert"
	"k8s.io/utils/ptr"

	"petset/test/harness"
)

// webhookServer is an HTTPS admission webhook on loopback with a CA of its
// own: /mutate adds the label webhook=mutated to a ConfigMap, /validate
// refuses a ConfigMap with a "forbidden" key.
func webhookServer(t *testing.T) (url string, caBundle []byte) {
	t.Helper()
	certPEM, keyPEM, err := certutil.GenerateSelfSignedCertKey("127.0.0.1", []net.IP{net.ParseIP("127.0.0.1")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	review := func(w http.ResponseWriter, r *http.Request, decide func(*corev1.ConfigMap, *admissionv1.AdmissionResponse)) {
		var ar admissionv1.AdmissionReview
		if err := json.NewDecoder(r.Body).Decode(&ar); err != nil || ar.Request == nil {
			http.Error(w, "bad review", http.StatusBadRequest)
			return
		}
		var cm corev1.ConfigMap
		if err := json.Unmarshal(ar.Request.Object.Raw, &cm); err != nil {
			http.Error(w, "bad object", http.StatusBadRequest)
			return
		}
		res := &admissionv1.AdmissionResponse{UID: ar.Request.UID, Allowed: true}
		decide(&cm, res)
		ar.Response, ar.Request = res, nil
		_ = json.NewEncoder(w).Encode(&ar)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/mutate", func(w http.ResponseWriter, r *http.Request) {
		review(w, r, func(cm *corev1.ConfigMap, res *admissionv1.AdmissionResponse) {
			patch := `[{"op":"add","path":"/metadata/labels","value":{"webhook":"mutated"}}]`
			if len(cm.Labels) > 0 {
				patch = `[{"op":"add","path":"/metadata/labels/webhook","value":"mutated"}]`
			}
			res.Patch, res.PatchType = []byte(patch), ptr.To(admissionv1.PatchTypeJSONPatch)
		})
	})
	mux.HandleFunc("/validate", func(w http.ResponseWriter, r *http.Request) {
		review(w, r, func(cm *corev1.ConfigMap, res *admissionv1.AdmissionResponse) {
			if _, bad := cm.Data["forbidden"]; bad {
				res.Allowed = false
				res.Result = &metav1.Status{Code: http.StatusForbidden, Message: "the key forbidden is not allowed"}
			}
		})
	})
	srv := httptest.NewUnstartedServer(mux)
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{pair}}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv.URL, certPEM
}

// webhookRule is CREATE and UPDATE of ConfigMaps in namespaces labelled
// webhooks=on.
func webhookRule() ([]admissionregistrationv1.RuleWithOperations, *metav1.LabelSelector) {
	return []admissionregistrationv1.RuleWithOperations{{
			Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create, admissionregistrationv1.Update},
			Rule:       admissionregistrationv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"configmaps"}},
		}},
		&metav1.LabelSelector{MatchLabels: map[string]string{"webhooks": "on"}}
}

// TestAdmissionWebhooks: admissionregistration.k8s.io/v1 webhook
// configurations are served with kube's validation and defaults, and the
// webhook admission plugins call them: a mutating webhook labels new
// ConfigMaps, a validating one refuses a key (but not for an object a match
// condition leaves out), only in namespaces the namespace selector picks; a
// webhook that does not answer is skipped with failurePolicy Ignore and
// refuses the request with Fail.
func TestAdmissionWebhooks(t *testing.T) {
	c := startCluster(t, "")
	ctx := context.Background()
	url, ca := webhookServer(t)
	rules, nsSel := webhookRule()
	reg := c.client.AdmissionregistrationV1()

	_, err := reg.ValidatingWebhookConfigurations().Create(ctx, &admissionregistrationv1.ValidatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: "bad"},
		Webhooks: []admissionregistrationv1.ValidatingWebhook{{Name: "nodots", ClientConfig: admissionregistrationv1.WebhookClientConfig{URL: ptr.To("http://x")},
			AdmissionReviewVersions: []string{"v2"}, TimeoutSeconds: ptr.To(int32(31))}},
	}, metav1.CreateOptions{})
	for _, want := range []string{"webhooks[0].name: Invalid value", "webhooks[0].sideEffects: Required value", "webhooks[0].timeoutSeconds: Invalid value",
		`webhooks[0].clientConfig.url: Invalid value: "http": 'https' is the only allowed URL scheme`, "webhooks[0].admissionReviewVersions: Invalid value"} {
		if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), want) {
			t.Errorf("invalid configuration: %v, want %q", err, want)
		}
	}

	mutating, err := reg.MutatingWebhookConfigurations().Create(ctx, &admissionregistrationv1.MutatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: "label"},
		Webhooks: []admissionregistrationv1.MutatingWebhook{{
			Name: "label.petset.test", ClientConfig: admissionregistrationv1.WebhookClientConfig{URL: ptr.To(url + "/mutate"), CABundle: ca},
			Rules: rules, NamespaceSelector: nsSel, SideEffects: ptr.To(admissionregistrationv1.SideEffectClassNone), AdmissionReviewVersions: []string{"v1"},
		}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if h := mutating.Webhooks[0]; *h.FailurePolicy != admissionregistrationv1.Fail || *h.MatchPolicy != admissionregistrationv1.Equivalent ||
		*h.TimeoutSeconds != 10 || mutating.Generation != 1 || *h.ReinvocationPolicy != admissionregistrationv1.NeverReinvocationPolicy || h.ObjectSelector == nil || *h.Rules[0].Scope != "*" {
		t.Errorf("defaults: %+v", h)
	}
	validating := &admissionregistrationv1.ValidatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: "refuse"},
		Webhooks: []admissionregistrationv1.ValidatingWebhook{{
			Name: "refuse.petset.test", ClientConfig: admissionregistrationv1.WebhookClientConfig{URL: ptr.To(url + "/validate"), CABundle: ca},
			Rules: rules, NamespaceSelector: nsSel, SideEffects: ptr.To(admissionregistrationv1.SideEffectClassNone), AdmissionReviewVersions: []string{"v1"},
			MatchConditions: []admissionregistrationv1.MatchCondition{{Name: "not-exempt", Expression: `object.metadata.name != "exempt"`}},
		}, {
			// Nothing listens on this port.
			Name: "down.petset.test", ClientConfig: admissionregistrationv1.WebhookClientConfig{URL: ptr.To(fmt.Sprintf("https://127.0.0.1:%d/", harness.FreePort(t))), CABundle: ca},
			Rules: rules, NamespaceSelector: nsSel, SideEffects: ptr.To(admissionregistrationv1.SideEffectClassNone), AdmissionReviewVersions: []string{"v1"},
			FailurePolicy: ptr.To(admissionregistrationv1.Ignore), TimeoutSeconds: ptr.To(int32(2)),
		}},
	}
	if validating, err = reg.ValidatingWebhookConfigurations().Create(ctx, validating, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "hooked", Labels: map[string]string{"webhooks": "on"}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	cms := c.client.CoreV1().ConfigMaps("hooked")
	// The plugins see new configurations through their informers.
	var n int
	eventually(t, "a ConfigMap labelled by the mutating webhook", func() (bool, error) {
		n++
		cm, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("probe-%d", n)}}, metav1.CreateOptions{})
		return err == nil && cm.Labels["webhook"] == "mutated", err
	})
	cm, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "kept", Labels: map[string]string{"app": "a"}}}, metav1.CreateOptions{})
	if err != nil || cm.Labels["webhook"] != "mutated" || cm.Labels["app"] != "a" {
		t.Fatalf("create with labels: %v, labels %v", err, cm.Labels)
	}
	forbidden := func(name string) *corev1.ConfigMap {
		return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name}, Data: map[string]string{"forbidden": "x"}}
	}
	eventually(t, "the validating webhook refusing", func() (bool, error) {
		_, err := cms.Create(ctx, forbidden("refused"), metav1.CreateOptions{})
		return err != nil && strings.Contains(err.Error(), `admission webhook "refuse.petset.test" denied the request: the key forbidden is not allowed`), nil
	})
	if _, err := cms.Create(ctx, forbidden("exempt"), metav1.CreateOptions{}); err != nil {
		t.Errorf("create of a ConfigMap the match condition exempts: %v", err)
	}
	// Elsewhere the namespace selector calls no webhook.
	cm, err = c.client.CoreV1().ConfigMaps("default").Create(ctx, forbidden("elsewhere"), metav1.CreateOptions{})
	if err != nil || cm.Labels["webhook"] != "" {
		t.Errorf("create in an unselected namespace: %v, labels %v", err, cm.Labels)
	}

	// The webhook that is down fails the request once its policy is Fail.
	validating.Webhooks[1].FailurePolicy = ptr.To(admissionregistrationv1.Fail)
	updated, err := reg.ValidatingWebhookConfigurations().Update(ctx, validating, metav1.UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if updated.Generation != 2 {
		t.Errorf("generation after a webhook change = %d, want 2", updated.Generation)
	}
	eventually(t, "failurePolicy Fail refusing while the webhook is down", func() (bool, error) {
		_, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "down"}}, metav1.CreateOptions{})
		return err != nil && strings.Contains(err.Error(), `failed calling webhook "down.petset.test"`), nil
	})
}
