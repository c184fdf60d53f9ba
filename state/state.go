// Package state records what bpfload loaded where, one JSON file per
// manifest name, so that list, status and unload work from the record and
// never guess. Files are written atomically (write, fsync, rename, fsync
// the directory): a crash leaves the old record or the new one, never a
// torn one. A record that does not decode is an error, never a reset.
package state

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"
)

// ErrCorrupt is wrapped when a state file does not decode.
var ErrCorrupt = errors.New("state file is corrupt")

// ErrUnsafe is wrapped when the state directory or a file in it is
// writable by others than its owner.
var ErrUnsafe = errors.New("state is writable by others")

// Record is everything bpfload keeps about one manifest name.
type Record struct {
	Name string `json:"name"`
	// HighWater is the highest manifest version ever loaded for Name.
	HighWater int64 `json:"high_water_version"`
	// Loaded is what is loaded now, nil after unload.
	Loaded *Load `json:"loaded,omitempty"`
}

// Load describes one successful load.
type Load struct {
	Version        int64     `json:"version"`
	Manifest       string    `json:"manifest"`
	ManifestSHA256 string    `json:"manifest_sha256"`
	ObjectSHA256   string    `json:"object_sha256"`
	PinDir         string    `json:"pin_dir"`
	Created        []string  `json:"created"` // pins and directories, in creation order
	Programs       []Program `json:"programs"`
	Maps           []Map     `json:"maps"`
	Capabilities   []string  `json:"capabilities"`
	LoadedAt       time.Time `json:"loaded_at"`
}

// Program is one loaded program as recorded.
type Program struct {
	Name    string `json:"name"`
	Type    string `json:"type"`
	ID      uint32 `json:"id"`
	Tag     string `json:"tag"`
	Attach  string `json:"attach"`
	Pin     string `json:"pin"`
	LinkPin string `json:"link_pin,omitempty"`
	// Replace says how it took over from the program it replaced, if any.
	Replace string `json:"replace,omitempty"`
}

// Map is one created map as recorded.
type Map struct {
	Name string `json:"name"`
	Type string `json:"type"`
	ID   uint32 `json:"id"`
	Pin  string `json:"pin,omitempty"`
}

// Dir is a state directory.
type Dir struct{ Path string }

// Open returns the state directory at path, creating it (mode 0755) if
// create is set. It refuses a directory writable by group or others.
func Open(path string, create bool) (*Dir, error) {
	if create {
		if err := os.MkdirAll(path, 0o755); err != nil {
			return nil, fmt.Errorf("create state directory: %w", err)
		}
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("state directory %s is not a directory", path)
	}
	if fi.Mode().Perm()&0o022 != 0 {
		return nil, fmt.Errorf("%w: %s has mode %04o; run chmod go-w %s", ErrUnsafe, path, fi.Mode().Perm(), path)
	}
	if err := ownedSafely(fi, path); err != nil {
		return nil, err
	}
	return &Dir{Path: path}, nil
}

func (d *Dir) file(name string) string { return filepath.Join(d.Path, name+".json") }

// Get returns the record for name, or nil if there is none.
func (d *Dir) Get(name string) (*Record, error) {
	path := d.file(name)
	fi, err := os.Lstat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() || fi.Mode().Perm()&0o022 != 0 {
		return nil, fmt.Errorf("%w: %s is not a regular file writable only by its owner (mode %s); fix it with chmod go-w, or move it aside", ErrUnsafe, path, fi.Mode())
	}
	if err := ownedSafely(fi, path); err != nil {
		return nil, err
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r Record
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil || r.Name != name {
		if err == nil {
			err = fmt.Errorf("it names %q", r.Name)
		}
		return nil, fmt.Errorf("%w: %s: %v (inspect it, then move it aside to start over)", ErrCorrupt, path, err)
	}
	return &r, nil
}

// Put writes r atomically.
func (d *Dir) Put(r *Record) error {
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(d.Path, "."+r.Name+".*.tmp")
	if err != nil {
		return fmt.Errorf("write state: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append(data, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("write state: %w", err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("sync state: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), d.file(r.Name)); err != nil {
		return fmt.Errorf("write state: %w", err)
	}
	dir, err := os.Open(d.Path)
	if err != nil {
		return err
	}
	defer dir.Close()
	return dir.Sync()
}

// List returns every record, sorted by name.
func (d *Dir) List() ([]*Record, error) {
	ents, err := os.ReadDir(d.Path)
	if err != nil {
		return nil, err
	}
	var out []*Record
	for _, e := range ents {
		name, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok || strings.HasPrefix(name, ".") {
			continue
		}
		r, err := d.Get(name)
		if err != nil {
			return nil, err
		}
		if r != nil {
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// CheckWritable fails early when the directory cannot take a new record.
func (d *Dir) CheckWritable() error {
	f, err := os.CreateTemp(d.Path, ".probe.*")
	if err != nil {
		return fmt.Errorf("state directory %s is not writable: %w", d.Path, err)
	}
	f.Close()
	return os.Remove(f.Name())
}

// ownedSafely refuses state owned by another user than root or this one,
// who could otherwise lower a high-water mark or redirect an unload.
func ownedSafely(fi os.FileInfo, path string) error {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && st.Uid != 0 && int(st.Uid) != os.Geteuid() {
		return fmt.Errorf("%w: %s is owned by uid %d, neither root nor this user (uid %d)", ErrUnsafe, path, st.Uid, os.Geteuid())
	}
	return nil
}
