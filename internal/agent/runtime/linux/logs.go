package linux

import (
	"bufio"
	"bytes"
	"os"
	"sync"
	"time"
)

// maxLogLine is the longest log record; longer lines are split into
// partial (P) records followed by a final (F) one, as the kubelet does.
const maxLogLine = 16 * 1024

// criLog appends CRI-format records to one container's log file.
type criLog struct {
	mu sync.Mutex
	f  *os.File
}

func openCRILog(path string) (*criLog, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return nil, err
	}
	return &criLog{f: f}, nil
}

func (l *criLog) record(stream string, partial bool, content []byte) {
	tag := "F"
	if partial {
		tag = "P"
	}
	var b bytes.Buffer
	b.Grow(len(content) + 48)
	b.WriteString(time.Now().UTC().Format(time.RFC3339Nano))
	b.WriteByte(' ')
	b.WriteString(stream)
	b.WriteByte(' ')
	b.WriteString(tag)
	b.WriteByte(' ')
	b.Write(content)
	b.WriteByte('\n')
	l.mu.Lock()
	l.f.Write(b.Bytes())
	l.mu.Unlock()
}

func (l *criLog) close() {
	l.mu.Lock()
	l.f.Close()
	l.mu.Unlock()
}

// lineSplitter turns a byte stream into log records.
type lineSplitter struct {
	log    *criLog
	stream string
	buf    []byte
}

func (s *lineSplitter) write(p []byte) {
	s.buf = append(s.buf, p...)
	for {
		i := bytes.IndexByte(s.buf, '\n')
		if i < 0 {
			break
		}
		line := s.buf[:i]
		line = bytes.TrimSuffix(line, []byte{'\r'})
		s.log.record(s.stream, false, line)
		s.buf = s.buf[i+1:]
	}
	for len(s.buf) >= maxLogLine {
		s.log.record(s.stream, true, s.buf[:maxLogLine])
		s.buf = s.buf[maxLogLine:]
	}
	if len(s.buf) == 0 {
		s.buf = nil
	}
}

func (s *lineSplitter) flush() {
	if len(s.buf) > 0 {
		s.log.record(s.stream, false, s.buf)
		s.buf = nil
	}
}

// logLine is one logical line of a log file (partial records joined).
type logLine struct {
	ts      time.Time
	tsText  string
	stream  string
	content []byte
}

// logParser reads records from a log file and joins partial ones.
type logParser struct {
	pend    *logLine
	partial []byte // an incomplete record at the end of what was read
}

// feed consumes data read from the file and returns complete lines.
func (p *logParser) feed(data []byte) []logLine {
	p.partial = append(p.partial, data...)
	var out []logLine
	for {
		i := bytes.IndexByte(p.partial, '\n')
		if i < 0 {
			break
		}
		rec := p.partial[:i]
		p.partial = p.partial[i+1:]
		ts, stream, tag, content, ok := parseRecord(rec)
		if !ok {
			continue
		}
		if p.pend == nil {
			t, _ := time.Parse(time.RFC3339Nano, ts)
			p.pend = &logLine{ts: t, tsText: ts, stream: stream}
		}
		p.pend.content = append(p.pend.content, content...)
		if tag == "F" {
			out = append(out, *p.pend)
			p.pend = nil
		}
	}
	if len(p.partial) == 0 {
		p.partial = nil
	}
	return out
}

func parseRecord(rec []byte) (ts, stream, tag string, content []byte, ok bool) {
	f := bytes.SplitN(rec, []byte{' '}, 4)
	if len(f) < 3 {
		return "", "", "", nil, false
	}
	ts, stream, tag = string(f[0]), string(f[1]), string(f[2])
	if len(f) == 4 {
		content = append([]byte(nil), f[3]...)
	}
	return ts, stream, tag, content, true
}

// logFilter applies LogOptions' selection to lines as they come.
type logFilter struct {
	since      *time.Time
	timestamps bool
	limit      int64 // -1: none
	written    int64
	w          *bufio.Writer
}

// emit writes one line; it returns false once the byte limit is reached.
func (f *logFilter) emit(l logLine) bool {
	if f.since != nil && l.ts.Before(*f.since) {
		return true
	}
	var b []byte
	if f.timestamps {
		b = append(b, l.tsText...)
		b = append(b, ' ')
	}
	b = append(b, l.content...)
	b = append(b, '\n')
	if f.limit >= 0 && f.written+int64(len(b)) > f.limit {
		b = b[:f.limit-f.written]
		f.w.Write(b)
		f.written = f.limit
		return false
	}
	f.w.Write(b)
	f.written += int64(len(b))
	return f.limit < 0 || f.written < f.limit
}
