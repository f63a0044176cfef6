// Package static is a small static web server the petset binary ships
// (`petset example static`) so the seeds' nginx StatefulSets (002, 004) run
// on machines without an nginx binary: it serves a directory
// (/usr/share/nginx/html by default) on :80 the way the nginx image's
// default site does — index.html or index.htm for a directory, 403 for a
// directory without an index (no listings), 404 for a missing file — and
// writes one access-log line per request to stdout.
//
// One goroutine serves HTTP until the context ends; the files are read on
// every request, so content written by `kubectl exec` shows at once.
package static
