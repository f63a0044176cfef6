package testenv

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// notRequired marks a skip of a case that does not exist (a protocol
// version without the feature, say), on the skip's line or the line above:
// `// not required: why`.
const notRequired = "// not required:"

// bypasses are the ways a test can leave out a required check without
// going through SkipOrFail / RequireRoot (which fail in CI instead).
var bypasses = []struct {
	re    *regexp.Regexp
	where func(path string) bool // which files the rule covers
	use   string
}{
	{regexp.MustCompile(`\.Skip(f|Now)?\(`), isTest, "testenv.SkipOrFail (or mark it " + notRequired + ")"},
	{regexp.MustCompile(`os\.Geteuid\(\)`), isTest, "testenv.RequireRoot"},
	{regexp.MustCompile(`exec\.LookPath\(`), isProcessTier, "harness.LookTool"},
}

func isTest(path string) bool { return strings.HasSuffix(path, "_test.go") }

// isProcessTier: the e2e and bench tests, where a missing host program
// must not silently drop a check.
func isProcessTier(path string) bool {
	return isTest(path) && (strings.HasPrefix(path, "test/e2e/") || strings.HasPrefix(path, "test/bench/"))
}

// TestNoBypassedSkips fails when a test skips, checks for root or looks
// for a host program in a way that CI=true would not turn into a failure.
func TestNoBypassedSkips(t *testing.T) {
	root := filepath.Join("..", "..")
	self, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			abs, _ := filepath.Abs(path)
			skip := abs == self || strings.HasPrefix(d.Name(), ".") || d.Name() == "vendor" || d.Name() == "testdata" || rel == "hack/parity"
			if path != root && skip {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(rel, ".go") {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		lines := strings.Split(string(data), "\n")
		for i, line := range lines {
			for _, b := range bypasses {
				if !b.where(rel) || !b.re.MatchString(line) {
					continue
				}
				if strings.Contains(line, notRequired) || (i > 0 && strings.Contains(lines[i-1], notRequired)) {
					continue
				}
				t.Errorf("%s:%d: %s\n\tuse %s, which fails in CI", rel, i+1, strings.TrimSpace(line), b.use)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
