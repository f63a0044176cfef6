// Package appserver runs the HTTP server of an example app: it listens,
// logs the address, serves until the context ends, then shuts down
// gracefully (in-flight requests get 5 s). It owns nothing else; the app
// packages own their handlers. Serve blocks; its one goroutine ends before
// it returns.
package appserver
