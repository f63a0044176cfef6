package main

import "testing"

func TestSumMetric(t *testing.T) {
	text := []byte(`# HELP apiserver_request_total Counter of apiserver requests
# TYPE apiserver_request_total counter
apiserver_request_total{code="200",verb="GET",resource="pods"} 12
apiserver_request_total{code="201",verb="POST",resource="pods"} 3.5e+01
apiserver_request_total_other{code="200"} 1000
apiserver_request_duration_seconds_count{verb="GET"} 99
`)
	got, by, err := sumMetric(text, "apiserver_request_total")
	if err != nil || got != 47 {
		t.Fatalf("sumMetric = %v, %v; want 47", got, err)
	}
	if by["GET pods"] != 12 || by["POST pods"] != 35 {
		t.Fatalf("by verb and resource: %v", by)
	}
	if d := topDiffs(map[string]float64{"GET pods": 10}, by, 1); len(d) != 1 || d[0] != "POST pods: 35" {
		t.Fatalf("topDiffs = %v", d)
	}
	if _, _, err := sumMetric([]byte("other 1\n"), "apiserver_request_total"); err == nil {
		t.Fatal("no error for a missing metric")
	}
}
