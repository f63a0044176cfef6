package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestStatOf(t *testing.T) {
	for _, tc := range []struct {
		in   []float64
		want string
	}{
		{nil, "—"},
		{[]float64{2}, "2.00"},
		{[]float64{3, 1, 2}, "2.00 (1.00–3.00)"},
		{[]float64{4, 1, 2, 3}, "2.50 (1.00–4.00)"},
	} {
		if got := statOf(tc.in).String(); got != tc.want {
			t.Errorf("statOf(%v) = %q, want %q", tc.in, got, tc.want)
		}
	}
	if got := ratio(statOf([]float64{1}), statOf([]float64{4})); got != "**0.25**" {
		t.Errorf("ratio = %q", got)
	}
	if got := ratio(statOf([]float64{1}), statOf(nil)); got != "—" {
		t.Errorf("ratio without peer = %q", got)
	}
}

// The section goes after the title the first time and replaces itself
// later, leaving the rest of the report alone.
func TestWriteReportKeepsTheRest(t *testing.T) {
	dir := t.TempDir()
	report := filepath.Join(dir, "REPORT.md")
	if err := os.WriteFile(report, []byte("# title\n\nolder findings\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := &results{Commit: "abc", Runs: []runResult{
		{System: "petset", Run: 1, Seconds: map[string]float64{"W2": 1}, W2ReadyAt: []float64{0.5, 1},
			Requests: map[string]float64{"W2": 812}},
		{System: peerDefault.name, Run: 1, Seconds: map[string]float64{"W2": 4}, W2ReadyAt: []float64{1, 4}},
	}}
	o := options{out: dir, report: report}
	for i := 0; i < 2; i++ {
		if err := writeReport(o, r); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	if strings.Count(text, beginMarker) != 1 || !strings.HasPrefix(text, "# title\n") || !strings.HasSuffix(text, "older findings\n") {
		t.Errorf("report:\n%s", text)
	}
	if !strings.Contains(text, "| **0.25** |") {
		t.Errorf("no W2 ratio 0.25 in:\n%s", text)
	}
	if !strings.Contains(text, "| W2 | 812 | — | — |") {
		t.Errorf("no W2 request count in:\n%s", text)
	}
	// W2 took 1 s: over its 0.6 s goal, but faster than the peer's 4 s.
	if !strings.Contains(text, "| W2 ≤ 0.6 s | 1.00 s | **not met** |") || !strings.Contains(text, "| W2 faster than the peer at its best | 1.00 s vs 4.00 s (÷ 0.25) | **met** |") {
		t.Errorf("W2 goals wrong in:\n%s", text)
	}
	if _, err := os.Stat(filepath.Join(dir, plotName)); err != nil {
		t.Errorf("plot: %v", err)
	}
}
