package defaults

import (
	"regexp"
	"strings"
)

// The grammar of a container image reference (the distribution reference
// grammar that kube's parsers.ParseImageName relies on).
var referenceRE = func() *regexp.Regexp {
	const (
		domainCmp = `(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])`
		domain    = `(?:` + domainCmp + `(?:\.` + domainCmp + `)*|\[[a-fA-F0-9:]+\])(?::[0-9]+)?`
		pathCmp   = `[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*`
		name      = `(?:` + domain + `/)?` + pathCmp + `(?:/` + pathCmp + `)*`
		tag       = `[\w][\w.-]{0,127}`
		digest    = `[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}`
	)
	return regexp.MustCompile(`^(` + name + `)(?::(` + tag + `))?(?:@(` + digest + `))?$`)
}()

var hex64RE = regexp.MustCompile(`^[a-f0-9]{64}$`)

// imageTag returns the tag kube's image parser derives from image: the explicit
// tag, "latest" when neither tag nor digest is given, and "" when the reference
// is pinned by digest only or cannot be parsed.
func imageTag(image string) string {
	m := referenceRE.FindStringSubmatch(image)
	if m == nil || len(m[1]) > 255 || hex64RE.MatchString(m[1]) {
		return ""
	}
	// A first path component that looks like a host is a registry; otherwise
	// the whole name is a repository on the default registry and must be
	// lowercase (the regexp already requires lowercase path components).
	if i := strings.IndexByte(m[1], '/'); i < 0 && strings.ToLower(m[1]) != m[1] {
		return ""
	}
	switch {
	case m[2] != "":
		return m[2]
	case m[3] != "":
		return ""
	default:
		return "latest"
	}
}
