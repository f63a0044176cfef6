// Package runner is the one way a petset controller runs: a typed,
// rate-limited workqueue drained by N workers once the informer caches have
// synced, a Ready channel, a per-item logger in the context, recovery from a
// panicking reconcile, and one result type.
//
// A controller is its wiring (informers, listers, event handlers that call
// Enqueue) and one function:
//
//	func (c *Controller) reconcile(ctx context.Context, key string) (runner.Result, error)
//
// which reads state from listers and writes through the client. Its outcome:
//
//	return runner.Done, nil                  // in sync; the key's back-off is forgotten
//	return runner.Requeue, nil               // again, after the key's back-off
//	return runner.RequeueAfter(d), nil       // again after d (a deadline that is due later)
//	return runner.Done, err                  // transient failure: logged, again after the back-off
//	return runner.Done, runner.Terminal(err) // will not succeed by retrying: logged once, dropped
//
// The context a reconcile gets carries a logger (logging.FromContext) with
// the controller's name and the key, and is cancelled when Run's context is.
// Errors that only say the context was cancelled are not logged: a graceful
// stop logs nothing. Conflicts (another writer won the race) are retried and
// logged at debug level only.
//
// Run does not start informers: the control plane starts the shared factory
// once for every controller; Run waits for the caches it was given.
package runner
