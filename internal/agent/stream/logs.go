package stream

import (
	"net/http"
	"net/url"
	"strconv"
	"time"

	"petset/internal/agent/runtime"
	"petset/internal/logging"
)

// serveLogs answers GET /containerLogs/{ns}/{pod}/{container}.
func (s *Server) serveLogs(w http.ResponseWriter, r *http.Request) {
	opts, err := logOptions(r.URL.Query(), time.Now())
	if err != nil {
		writeError(w, err)
		return
	}
	id, err := s.findContainer(r, false)
	if err != nil {
		writeError(w, err)
		return
	}
	lw := &logWriter{w: w}
	lw.flusher, _ = w.(http.Flusher)
	if opts.Follow {
		// Send the headers now: a follower of an empty log must see the
		// stream open.
		lw.start()
	}
	err = s.cfg.Runtime.Logs(r.Context(), id, opts, lw)
	if err != nil && r.Context().Err() == nil {
		if !lw.started {
			writeError(w, err)
			return
		}
		logging.FromContext(r.Context()).With("component", "stream").Info("container log stream ended with an error", "namespace", r.PathValue("ns"), "pod", r.PathValue("pod"), "container", r.PathValue("container"), logging.ErrKey, err)
		return
	}
	lw.start()
}

// logOptions parses the query of a containerLogs request.
func logOptions(q url.Values, now time.Time) (runtime.LogOptions, error) {
	opts := runtime.LogOptions{
		Follow:     boolParam(q, "follow"),
		Timestamps: boolParam(q, "timestamps"),
	}
	intParam := func(name string, min int64) (*int64, error) {
		v := q.Get(name)
		if v == "" {
			return nil, nil
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return nil, badRequest("%s: invalid integer %q", name, v)
		}
		if n < min {
			return nil, badRequest("%s: must be greater than or equal to %d", name, min)
		}
		return &n, nil
	}
	var err error
	if opts.TailLines, err = intParam("tailLines", 0); err != nil {
		return opts, err
	}
	if opts.LimitBytes, err = intParam("limitBytes", 1); err != nil {
		return opts, err
	}
	sinceSeconds, err := intParam("sinceSeconds", 1)
	if err != nil {
		return opts, err
	}
	if v := q.Get("sinceTime"); v != "" {
		if sinceSeconds != nil {
			return opts, badRequest("at most one of sinceTime or sinceSeconds may be specified")
		}
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return opts, badRequest("sinceTime: invalid RFC3339 time %q", v)
		}
		opts.SinceTime = &t
	}
	if sinceSeconds != nil {
		t := now.Add(-time.Duration(*sinceSeconds) * time.Second)
		opts.SinceTime = &t
	}
	return opts, nil
}

// logWriter sends the 200 header on first use and flushes every write, so a
// follower sees each line as it is logged.
type logWriter struct {
	w       http.ResponseWriter
	flusher http.Flusher
	started bool
}

func (l *logWriter) start() {
	if l.started {
		return
	}
	l.started = true
	l.w.Header().Set("Content-Type", "text/plain")
	l.w.Header().Set("X-Content-Type-Options", "nosniff")
	l.w.WriteHeader(http.StatusOK)
	if l.flusher != nil {
		l.flusher.Flush()
	}
}

func (l *logWriter) Write(p []byte) (int, error) {
	l.start()
	n, err := l.w.Write(p)
	if l.flusher != nil {
		l.flusher.Flush()
	}
	return n, err
}
