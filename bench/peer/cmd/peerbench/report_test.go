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

// W6's rows, the per-pod cost table (W1 → W3 → W6) and the goal "W6
// completes, per-pod cost ≤ W3's".
func TestW6Report(t *testing.T) {
	use := func(cpu, peak float64) map[string]usage {
		return map[string]usage{"petset": {CPUSeconds: cpu, PeakRSSMiB: peak}}
	}
	petset := runResult{System: "petset", Run: 1,
		Seconds:     map[string]float64{"W1": 0.3, "W3": 2, "W6": 4, "W6 rollout": 9},
		PerWorkload: map[string]map[string]usage{"W1": use(0.3, 150), "W3": use(20, 300), "W6": use(100, 1000)},
		Pods:        map[string]int{"W1": 3, "W3": 1000, "W6": 10000}}
	peer := runResult{System: peerTuned.name, Run: 1, Seconds: map[string]float64{"W6": 50, "W6 rollout": 90},
		PerWorkload: map[string]map[string]usage{"W6": {"kube-apiserver": {CPUSeconds: 300, PeakRSSMiB: 2000}, "etcd": {CPUSeconds: 100, PeakRSSMiB: 500}}}}
	text := section(&results{Runs: []runResult{petset, peer}})
	for _, want := range []string{
		"| W6 rollout: W6's sets, template changed, maxUnavailable 10 → every set rolled out | 9.00 | — | 90.00 |",
		"| petset | W1 | 3 | 100.00 | 100.00 | 50.000 |",
		"| petset | W3 | 1000 | 2.00 | 20.00 | 0.300 |",
		"| petset | W6 | 10000 | 0.40 | 10.00 | 0.100 |",
		// no Pods recorded: the default 10,000; both processes summed
		"| peer-tuned | W6 | 10000 | 5.00 | 40.00 | 0.250 |",
		"| W6 completes, per-pod cost ≤ W3's | per pod W6 vs W3: 0.40 vs 2.00 ms, 10.00 vs 20.00 CPU-ms, 0.100 vs 0.300 MiB | **met** |",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("no %q in:\n%s", want, text)
		}
	}

	// More CPU per pod than W3: not met.
	petset.PerWorkload["W6"] = use(300, 1000)
	if g := w6Goal(&results{Runs: []runResult{petset}}); len(g) != 1 || g[0].met != "**not met**" {
		t.Errorf("W6 dearer than W3: %+v", g)
	}
	// The rollout did not complete: not met, whatever the cost.
	delete(petset.Seconds, "W6 rollout")
	if g := w6Goal(&results{Runs: []runResult{petset}}); len(g) != 1 || g[0].met != "**not met**" || g[0].measured != "rollout did not complete" {
		t.Errorf("W6 without its rollout: %+v", g)
	}
	// No W3 to compare: said so, neither met nor not.
	petset.Seconds["W6 rollout"] = 9
	delete(petset.Seconds, "W3")
	if g := w6Goal(&results{Runs: []runResult{petset}}); len(g) != 1 || g[0].met != "—" {
		t.Errorf("W6 without W3: %+v", g)
	}
	// No W6: no goal line, no W6 rows.
	if g := w6Goal(&results{Runs: []runResult{{System: "petset", Seconds: map[string]float64{"W3": 2}}}}); g != nil {
		t.Errorf("goal without W6: %+v", g)
	}
}

func TestParseSize(t *testing.T) {
	if s, r, err := parseSize("10x20"); err != nil || s != 10 || r != 20 {
		t.Errorf("parseSize(10x20) = %d, %d, %v", s, r, err)
	}
	for _, bad := range []string{"", "10", "0x5", "ax5"} {
		if _, _, err := parseSize(bad); err == nil {
			t.Errorf("parseSize(%q) accepted", bad)
		}
	}
}

// A peer whose W6 reached its bound: shown with how far it came, the ratio
// as an upper bound, and petset faster when it finished within that bound.
func TestW6PeerNotDone(t *testing.T) {
	dir := t.TempDir()
	petset := runResult{System: "petset", Run: 1,
		Seconds:   map[string]float64{"W6": 240, "W6 rollout": 300},
		Requests:  map[string]float64{"W6": 150000},
		W6ReadyAt: []float64{1, 2, 240}}
	tuned := runResult{System: peerTuned.name, Run: 1,
		Requests:   map[string]float64{"W6": 90000},
		Unfinished: map[string]unfinished{"W6": {Done: 2345, Of: 10000, Unit: "pods Ready", AfterS: 1800}},
		W6ReadyAt:  []float64{3, 4}}
	r := &results{Runs: []runResult{petset, tuned},
		W6: &w6Plan{Size: "100x100", Runs: 1, Systems: []string{peerTuned.name, "petset"}, BoundS: 1800}}
	text := section(r)
	for _, want := range []string{
		"| 240.00 | — | not done: 2345 of 10000 pods Ready at the 1800 s bound | — | **< 0.13** |",
		"| W6 faster than the peer at its best | 240.00 s vs not done in 1800 s (÷ < 0.13) | **met** |",
		"| W6 | 150000 | — | 90000 (up to the bound in runs not done) |",
		"- W6 this time: 100x100, in the first 1 run(s), on peer-tuned, petset; each phase may take 30 min",
		"(" + plotW6Name + ")",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("no %q in:\n%s", want, text)
		}
	}
	// The rollout: petset's only; no goal line without a peer's.
	if strings.Contains(text, "W6 rollout faster") {
		t.Errorf("rollout goal without a peer's rollout:\n%s", text)
	}
	// A peer whose rollout reached the bound: the pods it updated too.
	rolling := tuned
	rolling.Unfinished = map[string]unfinished{"W6 rollout": {Done: 0, Of: 100, Unit: "sets rolled out", AfterS: 1800, Also: "3412 of 10000 pods updated"}}
	rolling.Seconds = map[string]float64{"W6": 700}
	r.Runs[1] = rolling
	if text := section(r); !strings.Contains(text, "not done: 0 of 100 sets rolled out (3412 of 10000 pods updated) at the 1800 s bound") {
		t.Errorf("rollout not done, pods updated not shown:\n%s", text)
	}
	// A peer that finished faster: not met, the real ratio.
	tuned.Seconds = map[string]float64{"W6": 200}
	tuned.Unfinished = nil
	r.Runs[1] = tuned
	if text := section(r); !strings.Contains(text, "| W6 faster than the peer at its best | 240.00 s vs 200.00 s (÷ 1.20) | **not met** |") {
		t.Errorf("peer faster, goal wrong:\n%s", text)
	}
	o := options{out: dir, report: filepath.Join(dir, "REPORT.md")}
	if err := writeReport(o, r); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{plotName, plotW6Name} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Errorf("plot: %v", err)
		}
	}
}
