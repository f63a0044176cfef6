package parity

import (
	"bufio"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"k8s.io/kubernetes/pkg/api/legacyscheme"
)

// config reads the run's settings from the environment:
// PARITY_SEED (a number, or "random"; default 1, so that CI is repeatable),
// PARITY_CASES (cases per kind, default 60), PARITY_KIND and PARITY_CASE
// (replay one kind or one case). PARITY_LIST=1 also lists the known
// differences found, each with an example.
func config(t *testing.T) Config {
	cfg := Config{Seed: 1, Cases: 60, Case: -1, Kind: os.Getenv("PARITY_KIND")}
	if s := os.Getenv("PARITY_SEED"); s == "random" {
		cfg.Seed = time.Now().UnixNano() & 0xffffffff
	} else if s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			t.Fatalf("PARITY_SEED=%q: %v", s, err)
		}
		cfg.Seed = n
	}
	for env, into := range map[string]*int{"PARITY_CASES": &cfg.Cases, "PARITY_CASE": &cfg.Case} {
		if s := os.Getenv(env); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil {
				t.Fatalf("%s=%q: %v", env, s, err)
			}
			*into = n
		}
	}
	if cfg.Case >= cfg.Cases {
		cfg.Cases = cfg.Case + 1
	}
	return cfg
}

// known reads known.txt: the differences recorded in docs/parity.md that
// petset keeps for now, one per line (a "#" starts a comment; * matches any
// text).
func known(t *testing.T) []*regexp.Regexp {
	f, err := os.Open("known.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []*regexp.Regexp
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		d, _, _ := strings.Cut(line, "#")
		out = append(out, pattern(strings.TrimSpace(d)))
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// pattern turns a line of known.txt into a matcher: the line read
// literally, except that * stands for any text.
func pattern(line string) *regexp.Regexp {
	return regexp.MustCompile("^" + strings.ReplaceAll(regexp.QuoteMeta(line), `\*`, ".*") + "$")
}

func isKnown(known []*regexp.Regexp, d Difference) bool {
	for _, p := range known {
		if p.MatchString(d.String()) {
			return true
		}
	}
	return false
}

// TestParity compares petset's validation, defaulting and table printing
// with upstream kube-apiserver's on fuzzed near-valid objects of every kind
// petset serves. A difference not in known.txt fails the test with the case
// that shows it and the command that replays it.
func TestParity(t *testing.T) {
	cfg := config(t)
	t.Logf("seed %d, %d cases per kind (replay: PARITY_SEED=%d hack/parity/run.sh)", cfg.Seed, cfg.Cases, cfg.Seed)
	start := time.Now()
	res := Run(cfg)
	if len(res.Unpaired) > 0 {
		t.Errorf("kinds petset serves with no upstream strategy or seed here (add them to upstream and seeds): %v", res.Unpaired)
	}
	total := 0
	for _, n := range res.Cases {
		total += n
	}
	t.Logf("%d kinds, %d cases in %v", len(res.Checked), total, time.Since(start).Round(time.Millisecond))
	kn := known(t)
	byCheck := map[string]int{}
	var unknown []string
	for _, d := range sortedKeys(res.Found) {
		byCheck[d.Check]++
		ex := res.Found[d]
		line := fmt.Sprintf("%s  (%d cases)\n    e.g. case %d %v: %s\n    replay: %s", d, res.Count[d], ex.Case, ex.Mutations, ex.Detail, ex.Replay())
		if isKnown(kn, d) {
			if os.Getenv("PARITY_LIST") != "" {
				t.Logf("known: %s", line)
			}
			continue
		}
		unknown = append(unknown, line)
	}
	t.Logf("differences found: %d (validation %d, defaulting %d, printing %d), of them not in known.txt: %d",
		len(res.Found), byCheck["validation"], byCheck["defaulting"], byCheck["printing"], len(unknown))
	for _, u := range unknown {
		t.Errorf("new difference from upstream: %s", u)
	}
}

// TestSeedsAreValid keeps the seeds valid for both sides, so that the cases
// mutated from them are near-valid.
func TestSeedsAreValid(t *testing.T) {
	kinds, _ := kindCases()
	for _, k := range kinds {
		obj := seeds[k.name]()
		legacyscheme.Scheme.Default(obj)
		up, ps := k.validateCreate(obj)
		if len(up) > 0 || len(ps) > 0 {
			t.Errorf("%s seed: upstream %v; petset %v", k.name, up, ps)
		}
	}
}

// TestEveryServedKindIsChecked fails when petset serves a kind the parity
// check has no upstream strategy or seed for.
func TestEveryServedKindIsChecked(t *testing.T) {
	kinds, missing := kindCases()
	if len(missing) > 0 {
		t.Errorf("not checked: %v", missing)
	}
	var names []string
	for _, k := range kinds {
		names = append(names, k.name)
	}
	sort.Strings(names)
	t.Logf("checked: %v", names)
}
