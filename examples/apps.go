package examples

import (
	"context"
	"slices"

	"petset/examples/dnsutils"
	"petset/examples/hellostateful"
	"petset/examples/kubia"
	"petset/examples/kubiapeers"
	"petset/examples/static"
)

// Main is an app's entry point: it runs until ctx is done (servers) or the
// work is finished, with args being what follows `petset example <app>`.
type Main func(ctx context.Context, args []string) error

var apps = map[string]Main{
	"kubia":         kubia.Main,
	"kubiapeers":    kubiapeers.Main,
	"hellostateful": hellostateful.Main,
	"static":        static.Main,
	"dnsutils":      dnsutils.Main,
}

// App returns the entry point of the named app.
func App(name string) (Main, bool) {
	m, ok := apps[name]
	return m, ok
}

// Names lists the apps, sorted.
func Names() []string {
	names := make([]string, 0, len(apps))
	for n := range apps {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}
