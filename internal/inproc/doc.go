// Package inproc is an http.RoundTripper that hands an in-process client's
// requests straight to an http.Handler — the API server's full handler
// chain, the same one a TLS request reaches — without TLS, TCP or HTTP/2
// framing.
//
// The handler sees a request as net/http's HTTP/2 server would give it
// (RequestURI, loopback RemoteAddr, Host, Proto HTTP/2.0, a non-nil Body,
// a connection state in TLS that carries the client's certificate chain
// when it authenticates with one) and a ResponseWriter that flushes
// (http.Flusher, http.CloseNotifier). Responses stream: the headers reach
// the client when the handler flushes, fills the write buffer or returns;
// the body then goes through a pipe. Closing the body or cancelling the
// request's context cancels the handler's context; a handler that returns
// ends the body; a handler's panic fails that request only. Upgrade
// requests (exec, attach, port-forward) are refused: they need a
// connection.
package inproc
