package registry

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/proxy"
	"k8s.io/apiserver/pkg/registry/rest"

	"petset/internal/podport"
)

// AgentAccess is how the API server reaches node agents, which serve a
// kubelet-style API: /containerLogs/{ns}/{pod}/{container},
// /exec/{ns}/{pod}/{container}, /attach/{ns}/{pod}/{container} and
// /portForward/{ns}/{pod}, on the port a node publishes in
// status.daemonEndpoints.kubeletEndpoint.
type AgentAccess struct {
	// Transport returns the transport to the agent of a node: mutual TLS
	// that verifies the agent's serving certificate for that node and
	// presents the API server's client certificate. It must be an
	// *http.Transport (upgrades dial with its TLS configuration).
	Transport func(node string) (http.RoundTripper, error)
}

// connectREST proxies pods/log, exec, attach and portforward to the agent
// of the pod's node.
type connectREST struct {
	pods, nodes *Store
	kind        string
	agent       *AgentAccess
}

var _ rest.Connecter = &connectREST{}

func (r *connectREST) New() runtime.Object { return &corev1.Pod{} }

func (r *connectREST) Destroy() {}

func (r *connectREST) NewConnectOptions() (runtime.Object, bool, string) {
	switch r.kind {
	case "log":
		return &corev1.PodLogOptions{}, false, ""
	case "exec":
		return &corev1.PodExecOptions{}, false, ""
	case "attach":
		return &corev1.PodAttachOptions{}, false, ""
	default:
		return &corev1.PodPortForwardOptions{}, false, ""
	}
}

func (r *connectREST) ConnectMethods() []string {
	if r.kind == "log" {
		return []string{"GET"}
	}
	return []string{"GET", "POST"}
}

func (r *connectREST) Connect(ctx context.Context, name string, opts runtime.Object, responder rest.Responder) (http.Handler, error) {
	obj, err := r.pods.Get(ctx, name, &metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	pod := obj.(*corev1.Pod)
	if pod.Spec.NodeName == "" {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("pod %s does not have a host assigned", name))
	}
	base, err := r.agentURL(ctx, pod)
	if err != nil {
		return nil, err
	}
	loc := *base
	query := url.Values{}
	switch o := opts.(type) {
	case *corev1.PodLogOptions:
		c, err := containerFor(pod, o.Container, true)
		if err != nil {
			return nil, err
		}
		loc.Path = fmt.Sprintf("/containerLogs/%s/%s/%s", pod.Namespace, pod.Name, c)
		setBool(query, "follow", o.Follow)
		setBool(query, "previous", o.Previous)
		setBool(query, "timestamps", o.Timestamps)
		setInt(query, "tailLines", o.TailLines)
		setInt(query, "limitBytes", o.LimitBytes)
		setInt(query, "sinceSeconds", o.SinceSeconds)
		if o.SinceTime != nil {
			query.Set("sinceTime", o.SinceTime.UTC().Format("2006-01-02T15:04:05Z07:00"))
		}
	case *corev1.PodExecOptions:
		c, err := containerFor(pod, o.Container, false)
		if err != nil {
			return nil, err
		}
		if len(o.Command) == 0 {
			return nil, apierrors.NewBadRequest("you must specify at least 1 command")
		}
		loc.Path = fmt.Sprintf("/exec/%s/%s/%s", pod.Namespace, pod.Name, c)
		for _, arg := range o.Command {
			query.Add("command", arg)
		}
		streamQuery(query, o.Stdin, o.Stdout, o.Stderr, o.TTY)
	case *corev1.PodAttachOptions:
		c, err := containerFor(pod, o.Container, false)
		if err != nil {
			return nil, err
		}
		loc.Path = fmt.Sprintf("/attach/%s/%s/%s", pod.Namespace, pod.Name, c)
		streamQuery(query, o.Stdin, o.Stdout, o.Stderr, o.TTY)
	case *corev1.PodPortForwardOptions:
		loc.Path = fmt.Sprintf("/portForward/%s/%s", pod.Namespace, pod.Name)
		for _, p := range o.Ports {
			query.Add("port", strconv.Itoa(int(p)))
		}
	}
	loc.RawQuery = query.Encode()
	transport, err := r.agent.Transport(pod.Spec.NodeName)
	if err != nil {
		return nil, apierrors.NewInternalError(fmt.Errorf("transport to node %s: %w", pod.Spec.NodeName, err))
	}
	h := proxy.NewUpgradeAwareHandler(&loc, transport, false, r.kind != "log", proxy.NewErrorResponder(responder))
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		// The caller's credentials are for the API server, never for an
		// agent: the API server authenticates with its client certificate.
		req.Header.Del("Authorization")
		h.ServeHTTP(w, req)
	}), nil
}

// agentURL is the base URL of the agent on the pod's node.
func (r *connectREST) agentURL(ctx context.Context, pod *corev1.Pod) (*url.URL, error) {
	obj, err := r.nodes.Get(ctx, pod.Spec.NodeName, &metav1.GetOptions{})
	if err != nil {
		if apierrors.IsNotFound(err) {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("pod %s has no running node agent: node %q does not exist", pod.Name, pod.Spec.NodeName))
		}
		return nil, err
	}
	node := obj.(*corev1.Node)
	port := node.Status.DaemonEndpoints.KubeletEndpoint.Port
	host := ""
	for _, a := range node.Status.Addresses {
		if a.Type == corev1.NodeInternalIP {
			host = a.Address
			break
		}
	}
	if port == 0 || host == "" || r.agent == nil || r.agent.Transport == nil {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("pod %s has no running node agent: node %q serves no logs, exec, attach or port-forward", pod.Name, node.Name))
	}
	return &url.URL{Scheme: "https", Host: net.JoinHostPort(host, strconv.Itoa(int(port)))}, nil
}

// containerFor picks the container a request is for, as kube does: the
// named one, the only one, or the default-container annotation.
func containerFor(pod *corev1.Pod, name string, includeInit bool) (string, error) {
	all := pod.Spec.Containers
	if includeInit {
		all = append(append([]corev1.Container{}, pod.Spec.Containers...), pod.Spec.InitContainers...)
	}
	if name != "" {
		for _, c := range all {
			if c.Name == name {
				return name, nil
			}
		}
		for _, c := range pod.Spec.EphemeralContainers {
			if c.Name == name {
				return name, nil
			}
		}
		return "", apierrors.NewBadRequest(fmt.Sprintf("container %s is not valid for pod %s", name, pod.Name))
	}
	if len(pod.Spec.Containers) == 1 {
		return pod.Spec.Containers[0].Name, nil
	}
	if def := pod.Annotations["kubectl.kubernetes.io/default-container"]; def != "" {
		return def, nil
	}
	names := make([]string, 0, len(pod.Spec.Containers))
	for _, c := range pod.Spec.Containers {
		names = append(names, c.Name)
	}
	return "", apierrors.NewBadRequest(fmt.Sprintf("a container name must be specified for pod %s, choose one of: [%s]", pod.Name, strings.Join(names, " ")))
}

func streamQuery(q url.Values, stdin, stdout, stderr, tty bool) {
	setBool(q, "stdin", stdin)
	setBool(q, "stdout", stdout)
	setBool(q, "stderr", stderr)
	setBool(q, "tty", tty)
}

func setBool(q url.Values, k string, v bool) {
	if v {
		q.Set(k, "true")
	}
}

func setInt(q url.Values, k string, v *int64) {
	if v != nil {
		q.Set(k, strconv.FormatInt(*v, 10))
	}
}

// PodProxyREST serves pods/proxy: HTTP to a port of the pod.
type PodProxyREST struct {
	pods *Store
}

var _ rest.Connecter = &PodProxyREST{}

func (r *PodProxyREST) New() runtime.Object { return &corev1.Pod{} }
func (r *PodProxyREST) Destroy()            {}

func (r *PodProxyREST) NewConnectOptions() (runtime.Object, bool, string) {
	return &corev1.PodProxyOptions{}, true, "path"
}

func (r *PodProxyREST) ConnectMethods() []string {
	return []string{"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"}
}

// Connect resolves "name", "name:port" or "scheme:name:port" to the pod's IP.
func (r *PodProxyREST) Connect(ctx context.Context, id string, opts runtime.Object, responder rest.Responder) (http.Handler, error) {
	scheme, name, port, valid := splitSchemeNamePort(id)
	if !valid {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("invalid pod request %q", id))
	}
	obj, err := r.pods.Get(ctx, name, &metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	pod := obj.(*corev1.Pod)
	if port == "" {
		for _, c := range pod.Spec.Containers {
			if len(c.Ports) > 0 {
				port = strconv.Itoa(int(c.Ports[0].ContainerPort))
				break
			}
		}
	} else if _, err := strconv.Atoi(port); err != nil {
		// A name is a TCP container port's (the proxy speaks HTTP).
		n, ok := podport.Named(pod, port, corev1.ProtocolTCP)
		if !ok {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("no port named %q on pod %s", port, name))
		}
		port = strconv.Itoa(int(n))
	}
	if pod.Status.PodIP == "" {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("pod %s has no IP yet", name))
	}
	nodeIPs := []string{pod.Status.HostIP}
	for _, h := range pod.Status.HostIPs {
		nodeIPs = append(nodeIPs, h.IP)
	}
	if err := proxyable(pod.Status.PodIP, nodeIPs...); err != nil {
		return nil, err
	}
	host := pod.Status.PodIP
	if port != "" {
		host = net.JoinHostPort(host, port)
	}
	path := opts.(*corev1.PodProxyOptions).Path
	loc := &url.URL{Scheme: orHTTP(scheme), Host: host, Path: path}
	return newProxyHandler(loc, responder), nil
}

// ServiceProxyREST serves services/proxy: HTTP to a ready endpoint.
type ServiceProxyREST struct {
	services, endpoints *Store
}

var _ rest.Connecter = &ServiceProxyREST{}

func (r *ServiceProxyREST) New() runtime.Object { return &corev1.Service{} }
func (r *ServiceProxyREST) Destroy()            {}

func (r *ServiceProxyREST) NewConnectOptions() (runtime.Object, bool, string) {
	return &corev1.ServiceProxyOptions{}, true, "path"
}

func (r *ServiceProxyREST) ConnectMethods() []string {
	return []string{"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"}
}

func (r *ServiceProxyREST) Connect(ctx context.Context, id string, opts runtime.Object, responder rest.Responder) (http.Handler, error) {
	scheme, name, portStr, valid := splitSchemeNamePort(id)
	if !valid {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("invalid service request %q", id))
	}
	obj, err := r.services.Get(ctx, name, &metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	svc := obj.(*corev1.Service)
	var svcPort *corev1.ServicePort
	for i := range svc.Spec.Ports {
		p := &svc.Spec.Ports[i]
		if portStr == "" || p.Name == portStr || strconv.Itoa(int(p.Port)) == portStr {
			svcPort = p
			break
		}
	}
	if svcPort == nil {
		return nil, apierrors.NewServiceUnavailable(fmt.Sprintf("no service port %q found for service %q", portStr, name))
	}
	epObj, err := r.endpoints.Get(ctx, name, &metav1.GetOptions{})
	if err != nil {
		if apierrors.IsNotFound(err) {
			return nil, apierrors.NewServiceUnavailable(fmt.Sprintf("no endpoints available for service %q", name))
		}
		return nil, err
	}
	var hosts []string
	var refused error
	for _, ss := range epObj.(*corev1.Endpoints).Subsets {
		for _, p := range ss.Ports {
			if p.Name != svcPort.Name {
				continue
			}
			for _, a := range ss.Addresses {
				if err := proxyable(a.IP); err != nil {
					refused = err
					continue
				}
				hosts = append(hosts, net.JoinHostPort(a.IP, strconv.Itoa(int(p.Port))))
			}
		}
	}
	if len(hosts) == 0 && refused != nil {
		return nil, refused
	}
	if len(hosts) == 0 {
		return nil, apierrors.NewServiceUnavailable(fmt.Sprintf("no endpoints available for service %q", name))
	}
	path := opts.(*corev1.ServiceProxyOptions).Path
	loc := &url.URL{Scheme: orHTTP(scheme), Host: hosts[rand.IntN(len(hosts))], Path: path}
	return newProxyHandler(loc, responder), nil
}

func newProxyHandler(loc *url.URL, responder rest.Responder) http.Handler {
	h := proxy.NewUpgradeAwareHandler(loc, http.DefaultTransport, true, false, proxy.NewErrorResponder(responder))
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		// The caller's credentials are for the API server, never for a pod.
		req.Header.Del("Authorization")
		h.ServeHTTP(w, req)
	})
}

func orHTTP(s string) string {
	if s == "" {
		return "http"
	}
	return s
}

// splitSchemeNamePort parses "name", "name:port" and "scheme:name:port".
func splitSchemeNamePort(id string) (scheme, name, port string, valid bool) {
	parts := strings.Split(id, ":")
	switch len(parts) {
	case 1:
		name = parts[0]
	case 2:
		name, port = parts[0], parts[1]
	case 3:
		scheme, name, port = parts[0], parts[1], parts[2]
		if scheme != "http" && scheme != "https" {
			return "", "", "", false
		}
	default:
		return "", "", "", false
	}
	return scheme, name, port, name != ""
}
