package policy

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/bpfload/bpfload/caps"
	"github.com/bpfload/bpfload/loader"
)

// Manifest API version and kind.
const (
	APIVersion   = "bpfload/v1"
	KindManifest = "Manifest"
)

// Size limits: files are read once, whole, into memory.
const (
	MaxManifestSize = 1 << 20
	MaxObjectSize   = 256 << 20
)

// Sentinels for the object checks.
var (
	ErrTooLarge       = errors.New("file too large")
	ErrDigestMismatch = errors.New("object digest does not match the manifest")
	ErrObjectPath     = errors.New("object path not allowed")
	ErrNotRegular     = errors.New("not a regular file")
)

// Manifest v1: what to load, from which object, with which capabilities.
type Manifest struct {
	APIVersion   string         `yaml:"apiVersion" json:"apiVersion"`
	Kind         string         `yaml:"kind" json:"kind"`
	Name         string         `yaml:"name" json:"name"`
	Version      int64          `yaml:"version" json:"version"`
	IssuedAt     string         `yaml:"issuedAt,omitempty" json:"issuedAt,omitempty"`
	ExpiresAt    string         `yaml:"expiresAt,omitempty" json:"expiresAt,omitempty"`
	Object       ObjectRef      `yaml:"object" json:"object"`
	Capabilities *[]string      `yaml:"capabilities" json:"capabilities"`
	Pin          string         `yaml:"pin,omitempty" json:"pin,omitempty"`
	Owner        string         `yaml:"owner,omitempty" json:"owner,omitempty"`
	Mode         string         `yaml:"mode,omitempty" json:"mode,omitempty"`
	Constants    map[string]any `yaml:"constants,omitempty" json:"constants,omitempty"`
	Programs     []ProgramEntry `yaml:"programs" json:"programs"`
	Maps         []MapEntry     `yaml:"maps,omitempty" json:"maps,omitempty"`

	// Path is the file the manifest was read from; Raw its exact bytes.
	Path string `yaml:"-" json:"-"`
	Raw  []byte `yaml:"-" json:"-"`
	// Caps is Capabilities parsed.
	Caps caps.Set `yaml:"-" json:"-"`
	// PinOpts is Owner and Mode parsed; nil when neither is set.
	PinOpts *loader.PinOptions
	issued  *time.Time
	expires *time.Time
	doc     *doc
}

// ObjectRef names the eBPF object by path and digest.
type ObjectRef struct {
	Path   string `yaml:"path" json:"path"`
	SHA256 string `yaml:"sha256" json:"sha256"`
}

// ProgramEntry is one program to load and where it attaches.
type ProgramEntry struct {
	Name   string        `yaml:"name" json:"name"`
	Attach loader.Attach `yaml:"attach" json:"attach"`
}

// MapEntry is one map the manifest pins or sizes.
type MapEntry struct {
	Name       string `yaml:"name" json:"name"`
	MaxEntries uint32 `yaml:"maxEntries,omitempty" json:"maxEntries,omitempty"`
	ValueSize  uint32 `yaml:"valueSize,omitempty" json:"valueSize,omitempty"`
	// Pin defaults to true for listed maps.
	Pin *bool `yaml:"pin,omitempty" json:"pin,omitempty"`
}

var (
	nameRE   = regexp.MustCompile(`^[a-z0-9-]{1,63}$`)
	digestRE = regexp.MustCompile(`^[0-9a-f]{64}$`)
)

// ReadManifest reads and validates the manifest at path. The bytes are read
// once; Raw keeps them for signature checks.
func ReadManifest(path string) (*Manifest, error) {
	raw, err := readLimited(path, MaxManifestSize)
	if err != nil {
		return nil, err
	}
	return ParseManifest(path, raw)
}

// ParseManifest decodes and validates manifest bytes; path is used in
// messages and to resolve the object's path.
func ParseManifest(path string, raw []byte) (*Manifest, error) {
	var m Manifest
	d, err := decodeStrict(path, raw, &m)
	if err != nil {
		return nil, err
	}
	m.Path, m.Raw, m.doc = path, raw, d
	if err := m.validate(); err != nil {
		return nil, err
	}
	return &m, nil
}

func (m *Manifest) validate() error {
	d := m.doc
	switch {
	case m.APIVersion != APIVersion:
		return d.invalid("apiVersion", "is %q; this bpfload reads %q", m.APIVersion, APIVersion)
	case m.Kind != KindManifest:
		return d.invalid("kind", "is %q; a manifest has kind %q", m.Kind, KindManifest)
	case !nameRE.MatchString(m.Name):
		return d.invalid("name", "%q must be 1 to 63 of a-z, 0-9 and '-'; it names the pin directory", m.Name)
	case m.Version < 1:
		return d.invalid("version", "must be a positive integer, got %d", m.Version)
	case m.Object.Path == "":
		return d.invalid("object.path", "missing: the eBPF object's path, relative to the manifest's directory")
	case !digestRE.MatchString(m.Object.SHA256):
		return d.invalid("object.sha256", "must be 64 lower-case hex digits (sha256sum OBJECT), got %q", m.Object.SHA256)
	case m.Capabilities == nil:
		return d.invalid("capabilities", "missing: list what the load needs, e.g. [CAP_BPF, CAP_PERFMON], or [] for none (bpfload --dry-run finds the list)")
	case len(m.Programs) == 0:
		return d.invalid("programs", "missing: list at least one program to load")
	}
	for _, f := range []struct {
		field string
		text  string
		dst   **time.Time
	}{{"issuedAt", m.IssuedAt, &m.issued}, {"expiresAt", m.ExpiresAt, &m.expires}} {
		if f.text == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339, f.text)
		if err != nil {
			return d.invalid(f.field, "%q is not an RFC 3339 time such as 2026-11-26T12:00:00Z", f.text)
		}
		*f.dst = &t
	}
	if m.issued != nil && m.expires != nil && !m.expires.After(*m.issued) {
		return d.invalid("expiresAt", "must be after issuedAt")
	}
	if m.Owner != "" || m.Mode != "" {
		m.PinOpts = &loader.PinOptions{UID: -1, GID: -1}
		if m.Mode != "" {
			mode, err := strconv.ParseUint(m.Mode, 8, 32)
			if err != nil || mode > 0o777 || mode&0o600 != 0o600 {
				return d.invalid("mode", "%q must be octal permissions such as \"0640\" that keep the owner's read and write (no setuid, sticky or setgid bits)", m.Mode)
			}
			m.PinOpts.Mode = os.FileMode(mode)
		}
		if m.Owner != "" {
			uid, gid, err := parseOwner(m.Owner)
			if err != nil {
				return d.invalid("owner", "%v", err)
			}
			m.PinOpts.UID, m.PinOpts.GID = uid, gid
		}
	}
	if err := objectPathOK(m.Object.Path); err != nil {
		return d.invalid("object.path", "%v", err)
	}
	seen := map[string]int{}
	for i, c := range *m.Capabilities {
		s, err := caps.Parse([]string{c})
		if err != nil {
			return d.invalid(fmt.Sprintf("capabilities[%d]", i), "%v", err)
		}
		if m.Caps.Has(s) {
			return d.invalid(fmt.Sprintf("capabilities[%d]", i), "%s is listed twice", c)
		}
		m.Caps |= s
	}
	if m.Pin != "" {
		if !filepath.IsAbs(m.Pin) || filepath.Clean(m.Pin) != m.Pin {
			return d.invalid("pin", "%q must be a clean absolute path on bpffs, such as /sys/fs/bpf/bpfload/%s", m.Pin, m.Name)
		}
	}
	for i, p := range m.Programs {
		field := fmt.Sprintf("programs[%d]", i)
		if p.Name == "" {
			return d.invalid(field+".name", "missing: the program's function name in the object")
		}
		if j, dup := seen[p.Name]; dup {
			return d.invalid(field+".name", "program %s is already listed at programs[%d]", p.Name, j)
		}
		seen[p.Name] = i
		if err := p.Attach.Validate(); err != nil {
			return d.invalid(field+".attach", "%v", err)
		}
	}
	mseen := map[string]bool{}
	for i, mp := range m.Maps {
		if mp.Name == "" {
			return d.invalid(fmt.Sprintf("maps[%d].name", i), "missing")
		}
		if mseen[mp.Name] {
			return d.invalid(fmt.Sprintf("maps[%d].name", i), "map %s is listed twice", mp.Name)
		}
		mseen[mp.Name] = true
	}
	return nil
}

// Where returns "file:line" for a field such as "programs[1].attach".
func (m *Manifest) Where(field string) string {
	if l := m.doc.lineOf(field); l > 0 {
		return fmt.Sprintf("%s:%d", m.Path, l)
	}
	return m.Path
}

// ProgramIndex returns the index of program name in programs:, or -1.
func (m *Manifest) ProgramIndex(name string) int {
	for i, p := range m.Programs {
		if p.Name == name {
			return i
		}
	}
	return -1
}

// Request builds the loader request for this manifest and object bytes.
func (m *Manifest) Request(object []byte) *loader.Request {
	req := &loader.Request{Object: object, Constants: m.Constants}
	for _, p := range m.Programs {
		req.Programs = append(req.Programs, loader.Program{Name: p.Name, Attach: p.Attach})
	}
	if len(m.Maps) > 0 {
		req.PinMaps = []string{} // listed: pin exactly those not marked pin: false
		for _, mp := range m.Maps {
			if mp.Pin == nil || *mp.Pin {
				req.PinMaps = append(req.PinMaps, mp.Name)
			}
			req.Maps = append(req.Maps, loader.MapSetting{Name: mp.Name, MaxEntries: mp.MaxEntries, ValueSize: mp.ValueSize})
		}
	}
	return req
}

// PinDir is the manifest's pin directory: pin, or root/name.
func (m *Manifest) PinDir(root string) string {
	if m.Pin != "" {
		return m.Pin
	}
	return filepath.Join(root, m.Name)
}

func objectPathOK(p string) error {
	if filepath.IsAbs(p) {
		return fmt.Errorf("%w: %q is absolute; give a path relative to the manifest's directory", ErrObjectPath, p)
	}
	for _, part := range strings.Split(filepath.ToSlash(p), "/") {
		if part == ".." {
			return fmt.Errorf("%w: %q leaves the manifest's directory", ErrObjectPath, p)
		}
	}
	return nil
}

// ReadObject reads the manifest's object once, beneath the manifest's
// directory and through no symlink, and checks its sha256 against the
// manifest. The returned bytes are the ones checked: load from them.
func (m *Manifest) ReadObject() ([]byte, error) {
	dir := filepath.Dir(m.Path)
	data, err := readBeneath(dir, m.Object.Path, MaxObjectSize)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(data)
	if got := hex.EncodeToString(sum[:]); got != m.Object.SHA256 {
		return nil, fmt.Errorf("%w: %s has sha256 %s, the manifest (%s) pins %s",
			ErrDigestMismatch, filepath.Join(dir, m.Object.Path), got, m.Where("object.sha256"), m.Object.SHA256)
	}
	return data, nil
}

func readLimited(path string, limit int64) ([]byte, error) {
	f, err := openRegular(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readAllLimited(f, path, limit)
}

// openRegular opens path for reading without blocking on a FIFO or device
// (O_NONBLOCK), and refuses anything but a regular file.
func openRegular(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOCTTY, 0)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("%w: %s is a %s", ErrNotRegular, path, kindOf(fi.Mode()))
	}
	return f, nil
}

func kindOf(m os.FileMode) string {
	switch {
	case m.IsDir():
		return "directory"
	case m&os.ModeNamedPipe != 0:
		return "FIFO"
	case m&os.ModeDevice != 0:
		return "device"
	case m&os.ModeSocket != 0:
		return "socket"
	}
	return "special file"
}

func readAllLimited(f *os.File, name string, limit int64) ([]byte, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%w: %s is a %s", ErrNotRegular, name, kindOf(fi.Mode()))
	}
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%w: %s is over %d bytes", ErrTooLarge, name, limit)
	}
	return data, nil
}

// ValidName reports whether s is a valid manifest name.
func ValidName(s string) bool { return nameRE.MatchString(s) }

// parseOwner reads "USER", "USER:GROUP" or ":GROUP", as numbers or names.
func parseOwner(s string) (uid, gid int, err error) {
	uid, gid = -1, -1
	name, group, hasGroup := strings.Cut(s, ":")
	if name != "" {
		if uid, err = lookupID(name, func(n string) (string, error) {
			u, err := user.Lookup(n)
			if err != nil {
				return "", err
			}
			return u.Uid, nil
		}); err != nil {
			return -1, -1, fmt.Errorf("owner %q: %v", s, err)
		}
	}
	if hasGroup && group != "" {
		if gid, err = lookupID(group, func(n string) (string, error) {
			g, err := user.LookupGroup(n)
			if err != nil {
				return "", err
			}
			return g.Gid, nil
		}); err != nil {
			return -1, -1, fmt.Errorf("owner %q: %v", s, err)
		}
	}
	if uid < 0 && gid < 0 {
		return -1, -1, fmt.Errorf("owner %q: give USER, USER:GROUP or :GROUP", s)
	}
	return uid, gid, nil
}

func lookupID(s string, byName func(string) (string, error)) (int, error) {
	if n, err := strconv.Atoi(s); err == nil {
		if n < 0 {
			return -1, fmt.Errorf("%d is negative", n)
		}
		return n, nil
	}
	id, err := byName(s)
	if err != nil {
		return -1, err
	}
	return strconv.Atoi(id)
}
