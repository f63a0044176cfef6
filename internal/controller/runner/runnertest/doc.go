// Package runnertest records the keys a controller's event handlers
// enqueue: a controller under test gets a Recorder's runner in place of its
// own, and Drain returns what was enqueued since the last Drain.
package runnertest
