// Package token is the agent's service-account token manager (kubelet's
// token manager): it asks the API server for tokens bound to a pod through
// serviceaccounts/token, caches them, and asks for a new one once 80% of a
// token's lifetime (or 24 hours) has passed. The agent's volume manager
// writes what it returns into projected volumes.
//
// It does not write files (internal/agent/volume) nor issue tokens
// (internal/serviceaccount).
//
// Concurrency: a Manager is safe for concurrent use; the cache is guarded
// by one mutex, held only around map access, never around API calls.
package token
