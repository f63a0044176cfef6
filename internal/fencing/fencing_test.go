package fencing

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestFenceTimeout(t *testing.T) {
	for _, tc := range []struct {
		ann  map[string]string
		want time.Duration
		ok   bool
	}{
		{nil, 0, false},
		{map[string]string{FenceTimeoutAnnotation: "20s"}, 20 * time.Second, true},
		{map[string]string{FenceTimeoutAnnotation: FormatTimeout(1500 * time.Millisecond)}, 1500 * time.Millisecond, true},
		{map[string]string{FenceTimeoutAnnotation: "0s"}, 0, false},
		{map[string]string{FenceTimeoutAnnotation: "-3s"}, 0, false},
		{map[string]string{FenceTimeoutAnnotation: "soon"}, 0, false},
	} {
		got, ok := FenceTimeout(&corev1.Node{ObjectMeta: metav1.ObjectMeta{Annotations: tc.ann}})
		if got != tc.want || ok != tc.ok {
			t.Errorf("FenceTimeout(%v) = %v, %v; want %v, %v", tc.ann, got, ok, tc.want, tc.ok)
		}
	}
}

func TestMarginAndOptIn(t *testing.T) {
	if m := Margin(5 * time.Second); m != 2*time.Second {
		t.Errorf("Margin(5s) = %v, want the 2s floor", m)
	}
	if m := Margin(60 * time.Second); m != 6*time.Second {
		t.Errorf("Margin(60s) = %v, want 6s", m)
	}
	p := &corev1.Pod{}
	if AutoFailover(p) {
		t.Error("a pod without the annotation opted in")
	}
	p.Annotations = map[string]string{FailoverAnnotation: "Auto"}
	if AutoFailover(p) {
		t.Error(`"Auto" opted in; only "auto" does`)
	}
	p.Annotations[FailoverAnnotation] = FailoverAuto
	if !AutoFailover(p) {
		t.Error("an annotated pod did not opt in")
	}
}
