package kubia

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"sync"

	"petset/examples/appserver"
)

// DefaultDataFile is where the seed's app keeps its data.
const DefaultDataFile = "/var/data/kubia.txt"

// Handler serves the kubia-pet protocol.
type Handler struct {
	Hostname string // the pod name the answers carry
	DataFile string
	mu       sync.Mutex
}

// ServeHTTP stores the body on POST; any other method reads the data back.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost {
		if err := h.Store(r.Body); err != nil {
			slog.Error("store data", "err", err)
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		slog.Info("New data has been received and stored.")
		fmt.Fprintf(w, "Data stored on pod %s\n", h.Hostname)
		return
	}
	data, err := h.ReadData()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	fmt.Fprintf(w, "You've hit %s\nData stored on this pod: %s\n", h.Hostname, data)
}

// Store replaces the stored data with body.
func (h *Handler) Store(body io.Reader) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	f, err := os.Create(h.DataFile)
	if err != nil {
		return fmt.Errorf("open data file: %w", err)
	}
	if _, err := io.Copy(f, body); err != nil {
		f.Close()
		return fmt.Errorf("write data file: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close data file: %w", err)
	}
	return nil
}

// ReadData returns the stored data, or "No data posted yet".
func (h *Handler) ReadData() (string, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	data, err := os.ReadFile(h.DataFile)
	if errors.Is(err, os.ErrNotExist) {
		return "No data posted yet", nil
	}
	if err != nil {
		return "", fmt.Errorf("read data file: %w", err)
	}
	return string(data), nil
}

// Main runs the app: `kubia [--listen :8080] [--data-file /var/data/kubia.txt]`.
// It serves until ctx is done.
func Main(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("kubia", flag.ContinueOnError)
	listen := fs.String("listen", ":8080", "address to serve HTTP on")
	dataFile := fs.String("data-file", DefaultDataFile, "file the posted data is stored in")
	if err := fs.Parse(args); err != nil {
		return err
	}
	host, err := os.Hostname()
	if err != nil {
		return fmt.Errorf("hostname: %w", err)
	}
	return appserver.Serve(ctx, "kubia", *listen, &Handler{Hostname: host, DataFile: *dataFile})
}
