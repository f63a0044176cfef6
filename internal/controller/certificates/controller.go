package certificates

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"slices"
	"strings"
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	certinformers "k8s.io/client-go/informers/certificates/v1"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	certlisters "k8s.io/client-go/listers/certificates/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"

	"petset/internal/controller/runner"
	"petset/internal/logging"
	"petset/internal/pki"
	"petset/internal/registry/validation"
)

// Names of users and groups in node certificates and bootstrap tokens.
const (
	NodeUserPrefix     = "system:node:"
	NodesGroup         = "system:nodes"
	BootstrappersGroup = "system:bootstrappers"
	defaultLifetime    = 365 * 24 * time.Hour
	approvedReason     = "AutoApproved"
	signedLifetimeMin  = 10 * time.Minute
)

// Controller approves and signs CertificateSigningRequests.
type Controller struct {
	client kubernetes.Interface
	ca     *pki.CA
	csrs   certlisters.CertificateSigningRequestLister
	nodes  corelisters.NodeLister
	runner *runner.Runner[string]
	// Lifetime is the lifetime of signed certificates when a request does
	// not ask for a shorter one (kube's --cluster-signing-duration).
	Lifetime time.Duration
}

// New wires the controller; ca signs; workers requests are handled at once.
func New(client kubernetes.Interface, ca *pki.CA, csrs certinformers.CertificateSigningRequestInformer, nodes coreinformers.NodeInformer, workers int) *Controller {
	c := &Controller{
		client: client, ca: ca,
		csrs: csrs.Lister(), nodes: nodes.Lister(),
		Lifetime: defaultLifetime,
	}
	c.runner = runner.New(runner.Config[string]{
		Name:        "certificates",
		Workers:     workers,
		Reconcile:   c.reconcile,
		Synced:      []cache.InformerSynced{csrs.Informer().HasSynced, nodes.Informer().HasSynced},
		RateLimiter: workqueue.NewTypedItemExponentialFailureRateLimiter[string](200*time.Millisecond, 30*time.Second),
		LogAttrs:    func(name string) []any { return []any{"csr", name} },
	})
	enqueue := func(obj any) {
		if csr, ok := obj.(*certificatesv1.CertificateSigningRequest); ok && len(csr.Status.Certificate) == 0 && !finished(csr) {
			c.runner.Enqueue(csr.Name)
		}
	}
	_, _ = csrs.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    enqueue,
		UpdateFunc: func(_, obj any) { enqueue(obj) },
	})
	// A serving request waits for its node's addresses: look again when a
	// node changes.
	_, _ = nodes.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { c.enqueueServingOf(obj) },
		UpdateFunc: func(_, obj any) { c.enqueueServingOf(obj) },
	})
	return c
}

func (c *Controller) enqueueServingOf(obj any) {
	n, ok := obj.(*corev1.Node)
	if !ok {
		return
	}
	all, err := c.csrs.List(labelsEverything)
	if err != nil {
		return
	}
	for _, csr := range all {
		if csr.Spec.SignerName == certificatesv1.KubeletServingSignerName && csr.Spec.Username == NodeUserPrefix+n.Name && !approvedOrDenied(csr) {
			c.runner.Enqueue(csr.Name)
		}
	}
}

// Run approves and signs until ctx ends.
func (c *Controller) Run(ctx context.Context) error { return c.runner.Run(ctx) }

// Ready is closed once the caches have synced and the workers run.
func (c *Controller) Ready() <-chan struct{} { return c.runner.Ready() }

// reconcile handles one request; a serving request whose node is not
// registered (or has not posted its addresses) yet is looked at again after
// the key's back-off.
func (c *Controller) reconcile(ctx context.Context, name string) (runner.Result, error) {
	retry, err := c.sync(ctx, name)
	if retry {
		return runner.Requeue, err
	}
	return runner.Done, err
}

// sync approves a qualifying pending request, then signs an approved one.
// retry asks to look again later (a serving request whose node is not
// registered yet).
func (c *Controller) sync(ctx context.Context, name string) (retry bool, err error) {
	csr, err := c.csrs.Get(name)
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if finished(csr) || len(csr.Status.Certificate) > 0 {
		return false, nil
	}
	req, err := validation.ParseCSR(csr.Spec.Request)
	if err != nil {
		return false, nil // validation admits no such request; nothing to do
	}
	if !approvedOrDenied(csr) {
		ok, retry := c.approvable(csr, req)
		if !ok {
			return retry, nil
		}
		csr = csr.DeepCopy()
		csr.Status.Conditions = append(csr.Status.Conditions, certificatesv1.CertificateSigningRequestCondition{
			Type: certificatesv1.CertificateApproved, Status: corev1.ConditionTrue, Reason: approvedReason,
			Message: fmt.Sprintf("Auto approving %s certificate for %s.", csr.Spec.SignerName, req.Subject.CommonName),
		})
		csr, err = c.client.CertificatesV1().CertificateSigningRequests().UpdateApproval(ctx, csr.Name, csr, metav1.UpdateOptions{})
		if err != nil {
			return false, fmt.Errorf("approve: %w", err)
		}
		logging.FromContext(ctx).Info("approved certificate signing request", "signer", csr.Spec.SignerName, "subject", req.Subject.CommonName, "requestor", csr.Spec.Username)
	}
	if !hasCondition(csr, certificatesv1.CertificateApproved) {
		return false, nil
	}
	return false, c.sign(ctx, csr, req)
}

// approvable says whether the controller approves csr on its own.
func (c *Controller) approvable(csr *certificatesv1.CertificateSigningRequest, req *x509.CertificateRequest) (ok, retry bool) {
	switch csr.Spec.SignerName {
	case certificatesv1.KubeAPIServerClientKubeletSignerName:
		if nodeClientShape(csr, req) != nil {
			return false, false
		}
		return slices.Contains(csr.Spec.Groups, BootstrappersGroup) || csr.Spec.Username == req.Subject.CommonName, false
	case certificatesv1.KubeletServingSignerName:
		if nodeServingShape(csr, req) != nil || csr.Spec.Username != req.Subject.CommonName {
			return false, false
		}
		node, err := c.nodes.Get(strings.TrimPrefix(req.Subject.CommonName, NodeUserPrefix))
		if err != nil {
			return false, true // not registered yet
		}
		if !sansAreNodes(req, node) {
			return false, true // addresses may not be posted yet
		}
		return true, false
	}
	return false, false
}

// sign issues the certificate of an approved request, or marks it Failed
// when the request does not fit its signer.
func (c *Controller) sign(ctx context.Context, csr *certificatesv1.CertificateSigningRequest, req *x509.CertificateRequest) error {
	var shapeErr error
	switch csr.Spec.SignerName {
	case certificatesv1.KubeAPIServerClientKubeletSignerName:
		shapeErr = nodeClientShape(csr, req)
	case certificatesv1.KubeletServingSignerName:
		shapeErr = nodeServingShape(csr, req)
	case certificatesv1.KubeAPIServerClientSignerName:
		shapeErr = clientShape(csr)
	default:
		return nil // another signer's
	}
	csr = csr.DeepCopy()
	if shapeErr != nil {
		csr.Status.Conditions = append(csr.Status.Conditions, certificatesv1.CertificateSigningRequestCondition{
			Type: certificatesv1.CertificateFailed, Status: corev1.ConditionTrue, Reason: "SignerValidationFailure", Message: shapeErr.Error(),
		})
		_, err := c.client.CertificatesV1().CertificateSigningRequests().UpdateStatus(ctx, csr, metav1.UpdateOptions{})
		return err
	}
	lifetime := c.Lifetime
	if e := csr.Spec.ExpirationSeconds; e != nil {
		if d := time.Duration(*e) * time.Second; d < lifetime {
			lifetime = max(d, signedLifetimeMin)
		}
	}
	tmpl := &x509.Certificate{
		Subject: req.Subject, DNSNames: req.DNSNames, IPAddresses: req.IPAddresses,
		EmailAddresses: req.EmailAddresses, URIs: req.URIs,
	}
	tmpl.KeyUsage, tmpl.ExtKeyUsage = keyUsages(csr.Spec.Usages)
	der, err := c.ca.Sign(tmpl, req.PublicKey, lifetime)
	if err != nil {
		return err
	}
	csr.Status.Certificate = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	if _, err := c.client.CertificatesV1().CertificateSigningRequests().UpdateStatus(ctx, csr, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("store certificate: %w", err)
	}
	logging.FromContext(ctx).Info("signed certificate", "signer", csr.Spec.SignerName, "subject", req.Subject.CommonName)
	return nil
}
