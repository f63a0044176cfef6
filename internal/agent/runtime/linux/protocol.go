package linux

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"petset/internal/agent/runtime/linux/ctrinit"
)

// The control protocol between the runtime and a sandbox's init: one request
// per connection. The client sends one JSON line, with the stdio file
// descriptors of exec and attach attached as SCM_RIGHTS, and waits for a
// reply line; exec and attach then carry more lines (resize from the client,
// the exit from init) on the same connection.

const (
	opStart    = "start"
	opStop     = "stop"
	opExec     = "exec"
	opAttach   = "attach"
	opResize   = "resize"
	opShutdown = "shutdown"
)

// startSpec is everything init needs to start one container.
type startSpec struct {
	ID         string
	PodUID     string
	Name       string
	Attempt    int
	Path       string // resolved argv[0]
	Argv       []string
	Env        []string
	WorkingDir string
	Mounts     []mountSpec
	Stdin      bool
	StdinOnce  bool
	TTY        bool
	CreatedAt  time.Time
	LogPath    string
	StatusPath string
	Cgroup     cgroupPaths
	// Rootfs is the empty directory the container's root filesystem is
	// assembled on (isolated pods); Security its credentials.
	Rootfs   string `json:",omitempty"`
	Security ctrinit.Security
}

type mountSpec struct {
	HostPath      string
	SubPath       string `json:",omitempty"`
	ContainerPath string
	ReadOnly      bool
}

type request struct {
	Op     string
	ID     string `json:",omitempty"`
	Start  *startSpec
	Argv   []string      `json:",omitempty"`
	Path   string        `json:",omitempty"`
	TTY    bool          `json:",omitempty"`
	Stdin  bool          `json:",omitempty"`
	Grace  time.Duration `json:",omitempty"`
	Width  uint16        `json:",omitempty"`
	Height uint16        `json:",omitempty"`
}

type reply struct {
	Error     string    `json:",omitempty"`
	PID       int       `json:",omitempty"`
	StartedAt time.Time `json:",omitzero"`
	// Exit is set on the final line of exec and attach.
	Exit *int `json:",omitempty"`
}

// ctlConn is one control connection, either side.
type ctlConn struct {
	c  *net.UnixConn
	rd *bufio.Reader
}

func dialCtl(path string) (*ctlConn, error) {
	c, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("connect to sandbox init: %w", err)
	}
	return &ctlConn{c: c, rd: bufio.NewReader(c)}, nil
}

// send writes one JSON line, with files attached if any.
func (cc *ctlConn) send(v any, files ...*os.File) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	b = append(b, '\n')
	var oob []byte
	if len(files) > 0 {
		fds := make([]int, len(files))
		for i, f := range files {
			fds[i] = int(f.Fd())
		}
		oob = unix.UnixRights(fds...)
	}
	n, _, err := cc.c.WriteMsgUnix(b, oob, nil)
	if err != nil {
		return err
	}
	if n < len(b) {
		_, err = cc.c.Write(b[n:])
	}
	return err
}

func (cc *ctlConn) recv(v any) error {
	line, err := cc.rd.ReadBytes('\n')
	if err != nil {
		return err
	}
	return json.Unmarshal(line, v)
}

// recvFirst reads the request line of a connection together with any file
// descriptors sent with it. The client sends nothing more until it has the
// reply, so the first read holds exactly the request.
func (cc *ctlConn) recvFirst(v any) ([]*os.File, error) {
	buf := make([]byte, 1<<20)
	oob := make([]byte, unix.CmsgSpace(16*4))
	var data []byte
	var files []*os.File
	for {
		n, oobn, _, _, err := cc.c.ReadMsgUnix(buf, oob)
		if oobn > 0 {
			fs, perr := parseRights(oob[:oobn])
			files = append(files, fs...)
			if perr != nil {
				closeFiles(files)
				return nil, perr
			}
		}
		data = append(data, buf[:n]...)
		if i := indexNL(data); i >= 0 {
			if err := json.Unmarshal(data[:i], v); err != nil {
				closeFiles(files)
				return nil, err
			}
			return files, nil
		}
		if err != nil {
			closeFiles(files)
			return nil, err
		}
		if n == 0 {
			closeFiles(files)
			return nil, errors.New("connection closed before request")
		}
	}
}

func indexNL(b []byte) int {
	for i, c := range b {
		if c == '\n' {
			return i
		}
	}
	return -1
}

func parseRights(oob []byte) ([]*os.File, error) {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return nil, err
	}
	var files []*os.File
	for _, m := range msgs {
		if m.Header.Level != syscall.SOL_SOCKET || m.Header.Type != syscall.SCM_RIGHTS {
			continue
		}
		fds, err := unix.ParseUnixRights(&m)
		if err != nil {
			return files, err
		}
		for _, fd := range fds {
			unix.CloseOnExec(fd)
			files = append(files, os.NewFile(uintptr(fd), "passed"))
		}
	}
	return files, nil
}

func closeFiles(fs []*os.File) {
	for _, f := range fs {
		if f != nil {
			f.Close()
		}
	}
}

// call performs a simple request/reply exchange with the init at sock.
func call(sock string, req request) (reply, error) {
	cc, err := dialCtl(sock)
	if err != nil {
		return reply{}, err
	}
	defer cc.c.Close()
	if err := cc.send(req); err != nil {
		return reply{}, fmt.Errorf("send %s request: %w", req.Op, err)
	}
	var rep reply
	if err := cc.recv(&rep); err != nil {
		return reply{}, fmt.Errorf("read %s reply: %w", req.Op, err)
	}
	if rep.Error != "" {
		return rep, errors.New(rep.Error)
	}
	return rep, nil
}
