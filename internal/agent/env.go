package agent

import (
	"errors"
	"fmt"
	"math"
	"net"
	"slices"
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"
)

// objectGetter reads the ConfigMaps and Secrets env refers to.
type objectGetter interface {
	ConfigMap(namespace, name string) (*corev1.ConfigMap, error)
	Secret(namespace, name string) (*corev1.Secret, error)
}

// fields resolves downward-API references. Pod status fields (podIP,
// podIPs, hostIP, hostIPs) are read from the pod given, so callers pass a
// copy carrying the sandbox's addresses.
type fields struct {
	// allocatable stands in for unset limits, as on kubelet.
	allocatable corev1.ResourceList
}

// FieldRef resolves a fieldRef path.
func (f fields) FieldRef(pod *corev1.Pod, path string) (string, error) {
	if key, ok := subscript(path, "metadata.labels"); ok {
		return pod.Labels[key], nil
	}
	if key, ok := subscript(path, "metadata.annotations"); ok {
		return pod.Annotations[key], nil
	}
	switch path {
	case "metadata.name":
		return pod.Name, nil
	case "metadata.namespace":
		return pod.Namespace, nil
	case "metadata.uid":
		return string(pod.UID), nil
	case "metadata.labels":
		return formatMap(pod.Labels), nil
	case "metadata.annotations":
		return formatMap(pod.Annotations), nil
	case "spec.nodeName":
		return pod.Spec.NodeName, nil
	case "spec.serviceAccountName":
		return pod.Spec.ServiceAccountName, nil
	case "status.hostIP":
		return pod.Status.HostIP, nil
	case "status.hostIPs":
		return joinIPs(pod.Status.HostIPs), nil
	case "status.podIP":
		return pod.Status.PodIP, nil
	case "status.podIPs":
		ips := make([]string, 0, len(pod.Status.PodIPs))
		for _, ip := range pod.Status.PodIPs {
			ips = append(ips, ip.IP)
		}
		return strings.Join(ips, ","), nil
	}
	return "", fmt.Errorf("unsupported fieldRef path %q", path)
}

func joinIPs(ips []corev1.HostIP) string {
	out := make([]string, 0, len(ips))
	for _, ip := range ips {
		out = append(out, ip.IP)
	}
	return strings.Join(out, ",")
}

// subscript parses `prefix['key']`.
func subscript(path, prefix string) (string, bool) {
	if !strings.HasPrefix(path, prefix+"[") || !strings.HasSuffix(path, "]") {
		return "", false
	}
	inner := path[len(prefix)+1 : len(path)-1]
	if len(inner) >= 2 && (inner[0] == '\'' || inner[0] == '"') && inner[len(inner)-1] == inner[0] {
		return inner[1 : len(inner)-1], true
	}
	return "", false
}

// formatMap renders a map as downward API files do: sorted key="value" lines.
func formatMap(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s=%s\n", k, strconv.Quote(m[k]))
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// ResourceFieldRef resolves a resourceFieldRef of container (empty
// containerName is an error, as on Kubernetes for volumes).
func (f fields) ResourceFieldRef(pod *corev1.Pod, containerName string, ref *corev1.ResourceFieldSelector) (string, error) {
	name := ref.ContainerName
	if name == "" {
		name = containerName
	}
	var c *corev1.Container
	for i := range pod.Spec.Containers {
		if pod.Spec.Containers[i].Name == name {
			c = &pod.Spec.Containers[i]
		}
	}
	for i := range pod.Spec.InitContainers {
		if c == nil && pod.Spec.InitContainers[i].Name == name {
			c = &pod.Spec.InitContainers[i]
		}
	}
	if c == nil {
		return "", fmt.Errorf("resourceFieldRef: container %q not found", name)
	}
	return f.resourceValue(c, ref)
}

// resourceValue resolves a resourceFieldRef against container c.
func (f fields) resourceValue(c *corev1.Container, ref *corev1.ResourceFieldSelector) (string, error) {
	kind, res, ok := strings.Cut(ref.Resource, ".")
	if !ok || (kind != "limits" && kind != "requests") {
		return "", fmt.Errorf("unsupported resourceFieldRef resource %q", ref.Resource)
	}
	rname := corev1.ResourceName(res)
	var q resource.Quantity
	if kind == "limits" {
		lim, set := c.Resources.Limits[rname]
		if !set {
			lim = f.allocatable[rname]
		}
		q = lim
	} else {
		q = c.Resources.Requests[rname]
	}
	divisor := ref.Divisor
	if divisor.IsZero() {
		divisor = resource.MustParse("1")
	}
	switch rname {
	case corev1.ResourceCPU:
		return strconv.FormatInt(int64(math.Ceil(float64(q.MilliValue())/float64(divisor.MilliValue()))), 10), nil
	case corev1.ResourceMemory, corev1.ResourceEphemeralStorage:
		return strconv.FormatInt(int64(math.Ceil(float64(q.Value())/float64(divisor.Value()))), 10), nil
	}
	if strings.HasPrefix(res, corev1.ResourceHugePagesPrefix) {
		return strconv.FormatInt(int64(math.Ceil(float64(q.Value())/float64(divisor.Value()))), 10), nil
	}
	return "", fmt.Errorf("unsupported resourceFieldRef resource %q", ref.Resource)
}

// expand replaces $(VAR) references in s as Kubernetes does: defined
// variables are substituted, $$ escapes a $, and references to undefined
// variables are left as written.
func expand(s string, lookup func(string) (string, bool)) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 >= len(s) {
			b.WriteByte(s[i])
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i++
		case '(':
			end := strings.IndexByte(s[i+2:], ')')
			if end < 0 {
				b.WriteString(s[i:])
				return b.String()
			}
			name := s[i+2 : i+2+end]
			if v, ok := lookup(name); ok && name != "" {
				b.WriteString(v)
			} else {
				b.WriteString(s[i : i+3+end])
			}
			i += 2 + end
		default:
			b.WriteByte('$')
		}
	}
	return b.String()
}

// envVar is one resolved variable.
type envVar struct{ name, value string }

// errConfig marks errors that leave a container in
// CreateContainerConfigError.
var errConfig = errors.New("container config")

// containerEnv resolves a container's envFrom and env, in kubelet's order
// and with $(VAR) expansion. pod carries the sandbox's addresses.
func containerEnv(pod *corev1.Pod, c *corev1.Container, objs objectGetter, f fields, services []envVar) ([]envVar, error) {
	out := append([]envVar(nil), services...)
	values := map[string]string{}
	for _, e := range services {
		values[e.name] = e.value
	}
	set := func(name, value string) {
		if _, seen := values[name]; seen {
			for i := range out {
				if out[i].name == name {
					out[i].value = value
				}
			}
		} else {
			out = append(out, envVar{name, value})
		}
		values[name] = value
	}
	for _, src := range c.EnvFrom {
		var data map[string]string
		switch {
		case src.ConfigMapRef != nil:
			opt := src.ConfigMapRef.Optional != nil && *src.ConfigMapRef.Optional
			cm, err := objs.ConfigMap(pod.Namespace, src.ConfigMapRef.Name)
			if err != nil {
				if apierrors.IsNotFound(err) && opt {
					continue
				}
				return nil, fmt.Errorf("%w: configmap %q not found", errConfig, src.ConfigMapRef.Name)
			}
			data = cm.Data
		case src.SecretRef != nil:
			opt := src.SecretRef.Optional != nil && *src.SecretRef.Optional
			s, err := objs.Secret(pod.Namespace, src.SecretRef.Name)
			if err != nil {
				if apierrors.IsNotFound(err) && opt {
					continue
				}
				return nil, fmt.Errorf("%w: secret %q not found", errConfig, src.SecretRef.Name)
			}
			data = map[string]string{}
			for k, v := range s.Data {
				data[k] = string(v)
			}
			for k, v := range s.StringData {
				data[k] = v
			}
		}
		keys := make([]string, 0, len(data))
		for k := range data {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			name := src.Prefix + k
			if len(validation.IsEnvVarName(name)) > 0 {
				continue // kubelet skips invalid names (and records an event)
			}
			set(name, data[k])
		}
	}
	lookup := func(n string) (string, bool) { v, ok := values[n]; return v, ok }
	for _, e := range c.Env {
		if e.ValueFrom == nil {
			set(e.Name, expand(e.Value, lookup))
			continue
		}
		vf := e.ValueFrom
		switch {
		case vf.FieldRef != nil:
			v, err := f.FieldRef(pod, vf.FieldRef.FieldPath)
			if err != nil {
				return nil, fmt.Errorf("%w: env %s: %w", errConfig, e.Name, err)
			}
			set(e.Name, v)
		case vf.ResourceFieldRef != nil:
			var v string
			var err error
			if r := vf.ResourceFieldRef; r.ContainerName == "" || r.ContainerName == c.Name {
				v, err = f.resourceValue(c, r)
			} else {
				v, err = f.ResourceFieldRef(pod, c.Name, r)
			}
			if err != nil {
				return nil, fmt.Errorf("%w: env %s: %w", errConfig, e.Name, err)
			}
			set(e.Name, v)
		case vf.ConfigMapKeyRef != nil:
			r := vf.ConfigMapKeyRef
			opt := r.Optional != nil && *r.Optional
			cm, err := objs.ConfigMap(pod.Namespace, r.Name)
			if err != nil {
				if apierrors.IsNotFound(err) && opt {
					continue
				}
				return nil, fmt.Errorf("%w: configmap %q not found", errConfig, r.Name)
			}
			v, ok := cm.Data[r.Key]
			if !ok {
				if opt {
					continue
				}
				return nil, fmt.Errorf("%w: couldn't find key %s in ConfigMap %s/%s", errConfig, r.Key, pod.Namespace, r.Name)
			}
			set(e.Name, v)
		case vf.SecretKeyRef != nil:
			r := vf.SecretKeyRef
			opt := r.Optional != nil && *r.Optional
			s, err := objs.Secret(pod.Namespace, r.Name)
			if err != nil {
				if apierrors.IsNotFound(err) && opt {
					continue
				}
				return nil, fmt.Errorf("%w: secret %q not found", errConfig, r.Name)
			}
			v, ok := s.Data[r.Key]
			if !ok {
				sv, sok := s.StringData[r.Key]
				if !sok {
					if opt {
						continue
					}
					return nil, fmt.Errorf("%w: couldn't find key %s in Secret %s/%s", errConfig, r.Key, pod.Namespace, r.Name)
				}
				v = []byte(sv)
			}
			set(e.Name, string(v))
		}
	}
	return out, nil
}

// expandArgs applies $(VAR) expansion to command or args.
func expandArgs(in []string, env []envVar) []string {
	if in == nil {
		return nil
	}
	values := make(map[string]string, len(env))
	for _, e := range env {
		values[e.name] = e.value
	}
	lookup := func(n string) (string, bool) { v, ok := values[n]; return v, ok }
	out := make([]string, len(in))
	for i, s := range in {
		out[i] = expand(s, lookup)
	}
	return out
}

// subPathOf is the subPath of a volume mount as kubelet resolves it
// (ExpandContainerVolumeMounts): subPathExpr has its $(VAR) references
// expanded with the container's variables, and a variable that is undefined
// or empty is an error (the container stays in CreateContainerConfigError).
func subPathOf(vm corev1.VolumeMount, env []envVar) (string, error) {
	if vm.SubPathExpr == "" {
		return vm.SubPath, nil
	}
	values := make(map[string]string, len(env))
	for _, e := range env {
		values[e.name] = e.value
	}
	var missing []string
	expanded := expand(vm.SubPathExpr, func(n string) (string, bool) {
		v := values[n]
		if v == "" && !slices.Contains(missing, n) {
			missing = append(missing, n)
		}
		return v, true
	})
	if len(missing) > 0 {
		slices.Sort(missing)
		return "", fmt.Errorf("%w: missing value for %s", errConfig, strings.Join(missing, ", "))
	}
	return expanded, nil
}

// mergeEnv lays the container's variables over the image's KEY=VALUE list.
func mergeEnv(image []string, env []envVar) []string {
	out := make([]string, 0, len(image)+len(env))
	idx := map[string]int{}
	for _, kv := range image {
		k, _, _ := strings.Cut(kv, "=")
		if i, ok := idx[k]; ok {
			out[i] = kv
			continue
		}
		idx[k] = len(out)
		out = append(out, kv)
	}
	for _, e := range env {
		kv := e.name + "=" + e.value
		if i, ok := idx[e.name]; ok {
			out[i] = kv
			continue
		}
		idx[e.name] = len(out)
		out = append(out, kv)
	}
	return out
}

// kubernetesServiceEnv are the variables kubelet sets in every container
// for the API server's "kubernetes" Service (port name https), so that
// in-cluster clients (client-go's InClusterConfig) find it; addr is
// host:port. Empty addr sets none.
func kubernetesServiceEnv(addr string) []envVar {
	host, port, err := net.SplitHostPort(addr)
	if addr == "" || err != nil {
		return nil
	}
	url := "tcp://" + net.JoinHostPort(host, port)
	prefix := "KUBERNETES_PORT_" + port + "_TCP"
	return []envVar{
		{"KUBERNETES_SERVICE_HOST", host},
		{"KUBERNETES_SERVICE_PORT", port},
		{"KUBERNETES_SERVICE_PORT_HTTPS", port},
		{"KUBERNETES_PORT", url},
		{prefix, url},
		{prefix + "_PROTO", "tcp"},
		{prefix + "_PORT", port},
		{prefix + "_ADDR", host},
	}
}
