package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"k8s.io/client-go/kubernetes"
)

// apiRequests is the number of requests the cluster's API server has
// served so far: the sum of apiserver_request_total over all its labels,
// from /metrics (both systems serve k8s.io/apiserver's metrics; petset's
// controllers call its API server over loopback, so their requests count as
// kube-controller-manager's and kube-scheduler's do).
func apiRequests(ctx context.Context, cs kubernetes.Interface) (float64, map[string]float64, error) {
	b, err := cs.CoreV1().RESTClient().Get().AbsPath("/metrics").DoRaw(ctx)
	if err != nil {
		return 0, nil, fmt.Errorf("metrics: %w", err)
	}
	return sumMetric(b, "apiserver_request_total")
}

// sumMetric sums the samples of a counter in Prometheus's text format, in
// all and by "VERB resource[/subresource]".
func sumMetric(text []byte, name string) (float64, map[string]float64, error) {
	var sum float64
	by := map[string]float64{}
	found := false
	sc := bufio.NewScanner(bytes.NewReader(text))
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name) {
			continue
		}
		rest := line[len(name):]
		if rest == "" || (rest[0] != '{' && rest[0] != ' ') {
			continue // another metric whose name starts with this one
		}
		f := strings.Fields(rest[strings.LastIndexByte(rest, '}')+1:])
		if len(f) == 0 {
			continue
		}
		v, err := strconv.ParseFloat(f[0], 64)
		if err != nil {
			return 0, nil, fmt.Errorf("metric line %q: %w", line, err)
		}
		sum += v
		found = true
		labels := labelsOf(rest)
		key := labels["verb"] + " " + labels["resource"]
		if sub := labels["subresource"]; sub != "" {
			key += "/" + sub
		}
		by[key] += v
	}
	if err := sc.Err(); err != nil {
		return 0, nil, fmt.Errorf("metrics: %w", err)
	}
	if !found {
		return 0, nil, fmt.Errorf("no %s in /metrics", name)
	}
	return sum, by, nil
}

// labelsOf parses a sample's {k="v",…} (label values here hold no quotes
// or commas).
func labelsOf(rest string) map[string]string {
	out := map[string]string{}
	i, j := strings.IndexByte(rest, '{'), strings.LastIndexByte(rest, '}')
	if i < 0 || j < i {
		return out
	}
	for _, kv := range strings.Split(rest[i+1:j], ",") {
		if k, v, ok := strings.Cut(kv, "="); ok {
			out[k] = strings.Trim(v, `"`)
		}
	}
	return out
}

// topDiffs is the n largest increases from before to after, as
// "KEY: N" sorted by size.
func topDiffs(before, after map[string]float64, n int) []string {
	type kv struct {
		k string
		v float64
	}
	var d []kv
	for k, v := range after {
		if x := v - before[k]; x > 0 {
			d = append(d, kv{k, x})
		}
	}
	sort.Slice(d, func(i, j int) bool { return d[i].v > d[j].v || (d[i].v == d[j].v && d[i].k < d[j].k) })
	var out []string
	for i := 0; i < len(d) && i < n; i++ {
		out = append(out, fmt.Sprintf("%s: %.0f", d[i].k, d[i].v))
	}
	return out
}
