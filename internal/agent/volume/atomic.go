package volume

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Names of kubelet's atomic-writer layout: the files live in a timestamped
// directory ..<time>.<random>, ..data links to it, and each top-level name
// links through ..data. A new set of files is written to a new directory
// and ..data is swapped by rename, so a reader sees the old set or the new
// one, never a mix.
const (
	dataLink    = "..data"
	dataLinkTmp = "..data_tmp"
)

// writeFiles makes dir hold exactly files (paths relative to dir),
// replacing the whole set atomically when anything changed.
func writeFiles(dir string, files map[string]file) error {
	clean := make(map[string]file, len(files))
	for rel, f := range files {
		c := filepath.Clean(rel)
		if filepath.IsAbs(c) || c == "." || c == ".." || strings.HasPrefix(c, "../") || strings.HasPrefix(c, "..") {
			return fmt.Errorf("projecting files: path %q escapes the volume or uses a reserved name", rel)
		}
		clean[c] = f
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("projecting files: %w", err)
	}
	old, _ := os.Readlink(filepath.Join(dir, dataLink))
	if old == "" || !holds(filepath.Join(dir, old), clean) {
		ts, err := os.MkdirTemp(dir, time.Now().UTC().Format("..2006_01_02_15_04_05."))
		if err != nil {
			return fmt.Errorf("projecting files: %w", err)
		}
		if err := os.Chmod(ts, 0o755); err != nil {
			return fmt.Errorf("projecting files: %w", err)
		}
		for rel, f := range clean {
			p := filepath.Join(ts, rel)
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				return fmt.Errorf("projecting %s: %w", rel, err)
			}
			if err := os.WriteFile(p, f.data, f.mode); err != nil {
				return fmt.Errorf("projecting %s: %w", rel, err)
			}
			if err := os.Chmod(p, f.mode); err != nil {
				return fmt.Errorf("projecting %s: %w", rel, err)
			}
		}
		tmp := filepath.Join(dir, dataLinkTmp)
		_ = os.Remove(tmp)
		if err := os.Symlink(filepath.Base(ts), tmp); err != nil {
			return fmt.Errorf("projecting files: %w", err)
		}
		if err := os.Rename(tmp, filepath.Join(dir, dataLink)); err != nil {
			return fmt.Errorf("projecting files: %w", err)
		}
	}
	if err := linkTopLevel(dir, clean); err != nil {
		return err
	}
	// Remove the timestamped directories ..data no longer points to.
	cur, _ := os.Readlink(filepath.Join(dir, dataLink))
	ents, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("projecting files: %w", err)
	}
	for _, e := range ents {
		n := e.Name()
		if e.IsDir() && strings.HasPrefix(n, "..") && n != cur {
			if err := os.RemoveAll(filepath.Join(dir, n)); err != nil {
				return fmt.Errorf("projecting files: %w", err)
			}
		}
	}
	return nil
}

// linkTopLevel makes each top-level name of files a link into ..data and
// removes every other visible entry.
func linkTopLevel(dir string, files map[string]file) error {
	want := map[string]bool{}
	for rel := range files {
		want[strings.SplitN(rel, string(filepath.Separator), 2)[0]] = true
	}
	for name := range want {
		p := filepath.Join(dir, name)
		target := filepath.Join(dataLink, name)
		if t, err := os.Readlink(p); err == nil && t == target {
			continue
		}
		// A file or directory of an older layout, or a wrong link.
		if err := os.RemoveAll(p); err != nil {
			return fmt.Errorf("projecting %s: %w", name, err)
		}
		if err := os.Symlink(target, p); err != nil {
			return fmt.Errorf("projecting %s: %w", name, err)
		}
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("projecting files: %w", err)
	}
	for _, e := range ents {
		if n := e.Name(); !strings.HasPrefix(n, "..") && !want[n] {
			if err := os.RemoveAll(filepath.Join(dir, n)); err != nil {
				return fmt.Errorf("projecting files: %w", err)
			}
		}
	}
	return nil
}

// holds reports whether dir holds exactly files, with their contents and modes.
func holds(dir string, files map[string]file) bool {
	seen := 0
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		rel, _ := filepath.Rel(dir, p)
		f, ok := files[rel]
		if !ok {
			return errors.New("extra file")
		}
		st, err := d.Info()
		if err != nil || st.Mode().Perm() != f.mode {
			return errors.New("mode changed")
		}
		b, err := os.ReadFile(p)
		if err != nil || !bytes.Equal(b, f.data) {
			return errors.New("content changed")
		}
		seen++
		return nil
	})
	return err == nil && seen == len(files)
}
