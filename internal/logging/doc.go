// Package logging sets up petset's structured logging: one log/slog
// handler on stderr, and client-go's and the apiserver's klog output routed
// into it (quietened below warnings unless verbose). It starts no goroutines.
package logging
