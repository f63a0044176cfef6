package stream

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"petset/internal/agent/runtime"
)

// httpError is an error with the HTTP status it is answered with.
type httpError struct {
	code int
	msg  string
}

func (e *httpError) Error() string { return e.msg }

func badRequest(format string, args ...any) error {
	return &httpError{code: http.StatusBadRequest, msg: fmt.Sprintf(format, args...)}
}

// writeError answers a request that failed before any streaming started.
func writeError(w http.ResponseWriter, err error) {
	var he *httpError
	if errors.As(err, &he) {
		writeStatus(w, he.code, he.msg)
		return
	}
	if errors.Is(err, runtime.ErrNotFound) {
		writeStatus(w, http.StatusNotFound, err.Error())
		return
	}
	writeStatus(w, http.StatusInternalServerError, err.Error())
}

// writeStatus writes a metav1.Status, which client-go turns into the error
// a user sees ("Error from server (NotFound): …").
func writeStatus(w http.ResponseWriter, code int, msg string) {
	st := metav1.Status{
		TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"},
		Status:   metav1.StatusFailure,
		Message:  msg,
		Reason:   reasonFor(code),
		Code:     int32(code),
	}
	body, _ := json.Marshal(st)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	w.Write(body)
}

func reasonFor(code int) metav1.StatusReason {
	switch code {
	case http.StatusBadRequest:
		return metav1.StatusReasonBadRequest
	case http.StatusUnauthorized:
		return metav1.StatusReasonUnauthorized
	case http.StatusNotFound:
		return metav1.StatusReasonNotFound
	case http.StatusInternalServerError:
		return metav1.StatusReasonInternalError
	}
	return metav1.StatusReasonUnknown
}

// findContainer resolves a container of a pod to its runtime ID; with
// running it must also be running.
func (s *Server) findContainer(r *http.Request, running bool) (string, error) {
	ns, pod, name := r.PathValue("ns"), r.PathValue("pod"), r.PathValue("container")
	previous := boolParam(r.URL.Query(), "previous")
	id, err := s.cfg.Pods.ContainerID(ns, pod, name, previous)
	if err != nil {
		if !errors.Is(err, runtime.ErrNotFound) {
			return "", fmt.Errorf("finding container %s of pod %s/%s: %w", name, ns, pod, err)
		}
		switch {
		case previous:
			return "", &httpError{code: http.StatusBadRequest, msg: fmt.Sprintf("previous terminated container %q in pod %q not found", name, pod)}
		case !s.podExists(r, ns, pod):
			return "", &httpError{code: http.StatusNotFound, msg: fmt.Sprintf("pod %s/%s not found on this node", ns, pod)}
		case s.declared(ns, pod, name):
			return "", &httpError{code: http.StatusBadRequest, msg: fmt.Sprintf("container %q in pod %q is waiting to start", name, pod)}
		default:
			return "", &httpError{code: http.StatusNotFound, msg: fmt.Sprintf("container %s is not valid for pod %s", name, pod)}
		}
	}
	if !running {
		return id, nil
	}
	st, err := s.cfg.Runtime.ContainerStatus(r.Context(), id)
	if err != nil {
		if errors.Is(err, runtime.ErrNotFound) {
			return "", &httpError{code: http.StatusNotFound, msg: fmt.Sprintf("container %s is not valid for pod %s", name, pod)}
		}
		return "", fmt.Errorf("status of container %s of pod %s/%s: %w", name, ns, pod, err)
	}
	if st.State != runtime.StateRunning {
		msg := fmt.Sprintf("container %s of pod %s is not running (state %s)", name, pod, st.State)
		if st.State == runtime.StateExited {
			msg = fmt.Sprintf("container %s of pod %s is not running: it exited with code %d", name, pod, st.ExitCode)
		}
		return "", &httpError{code: http.StatusBadRequest, msg: msg}
	}
	return id, nil
}

// declared reports whether the pod's spec names the container, when Pods
// can tell (see ContainerNames).
func (s *Server) declared(ns, pod, name string) bool {
	cn, ok := s.cfg.Pods.(ContainerNames)
	if !ok {
		return false
	}
	names, err := cn.ContainerNames(ns, pod)
	if err != nil {
		return false
	}
	for _, n := range names {
		if n == name {
			return true
		}
	}
	return false
}

// podExists reports whether the runtime has a sandbox for the pod.
func (s *Server) podExists(r *http.Request, ns, pod string) bool {
	_, err := s.sandbox(r.Context(), ns, pod)
	return err == nil
}

// boolParam reads a boolean query parameter the way Kubernetes converts
// them: absent is false, "0", "false" and "f" (any case) are false, any
// other value is true.
func boolParam(q url.Values, name string) bool {
	v, ok := q[name]
	if !ok || len(v) == 0 {
		return false
	}
	switch strings.ToLower(v[0]) {
	case "0", "false", "f":
		return false
	}
	return true
}

// refuseSimulated is the answer of a simulated node to exec, attach and
// port-forward (what): there is no process to run a command in, connect to
// or forward to. Nil on a real node.
func (s *Server) refuseSimulated(r *http.Request, what string) error {
	if s.cfg.SimulatedNode == "" {
		return nil
	}
	return badRequest("pod %s runs on simulated node %s: %s is not available (simulated nodes run no processes)",
		r.PathValue("pod"), s.cfg.SimulatedNode, what)
}
