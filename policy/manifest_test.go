package policy

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bpfload/bpfload/caps"
	"kernel.org/pub/linux/libs/security/libcap/cap"
)

const digest = "9f2c000000000000000000000000000000000000000000000000000000000000"

const good = `apiVersion: bpfload/v1
kind: Manifest
name: opensnoop
version: 3
object:
  path: opensnoop.bpf.o
  sha256: ` + digest + `
capabilities: [CAP_BPF, CAP_PERFMON]
programs:
  - name: count_openat
    attach: {tracepoint: syscalls/sys_enter_openat}
  - name: sock_filter
    attach: none
  - name: xdp_count
    attach: {xdp: {interface: eth0, mode: generic}}
maps:
  - name: opens
`

func TestParseGood(t *testing.T) {
	m, err := ParseManifest("m.yaml", []byte(good))
	if err != nil {
		t.Fatal(err)
	}
	if m.Name != "opensnoop" || m.Version != 3 || m.Caps != caps.Of(cap.BPF, cap.PERFMON) {
		t.Errorf("decoded %+v", m)
	}
	if k := m.Programs[0].Attach.Kind(); k != "tracepoint" {
		t.Errorf("kind %q", k)
	}
	if !m.Programs[1].Attach.None || m.Programs[1].Attach.Kind() != "none" {
		t.Errorf("attach none: %+v", m.Programs[1].Attach)
	}
	if x := m.Programs[2].Attach.XDP; x == nil || x.Interface != "eth0" || x.Mode != "generic" {
		t.Errorf("xdp: %+v", x)
	}
	if got := m.Where("programs[2].attach"); got != "m.yaml:15" {
		t.Errorf("Where = %q", got)
	}
	if m.PinDir("/sys/fs/bpf/bpfload") != "/sys/fs/bpf/bpfload/opensnoop" {
		t.Error("default pin dir")
	}
	req := m.Request([]byte("obj"))
	if len(req.Programs) != 3 || len(req.PinMaps) != 1 {
		t.Errorf("request %+v", req)
	}
}

// Each bad manifest gives its own message, at the right line.
func TestParseErrors(t *testing.T) {
	cases := []struct {
		name, from, to string
		sentinel       error
		want           string // in the message
	}{
		{"unknown key", "version: 3\n", "version: 3\nversoin: 4\n", ErrSyntax, `m.yaml:5:1: unknown field "versoin"`},
		{"unknown nested key", "mode: generic", "mod: generic", ErrSyntax, `m.yaml:15:`},
		{"duplicate key", "version: 3\n", "version: 3\nversion: 4\n", ErrSyntax, `already defined`},
		{"wrong type", "version: 3", "version: three", ErrSyntax, `m.yaml:4`},
		{"api version", "bpfload/v1", "bpfload/v2", ErrInvalid, `m.yaml:1: apiVersion: is "bpfload/v2"`},
		{"kind", "kind: Manifest", "kind: TrustPolicy", ErrInvalid, `kind:`},
		{"name", "name: opensnoop", "name: Open_Snoop", ErrInvalid, `m.yaml:3: name:`},
		{"version", "version: 3", "version: 0", ErrInvalid, `positive integer`},
		{"digest", digest, "abc", ErrInvalid, `m.yaml:7: object.sha256`},
		{"absolute object", "path: opensnoop.bpf.o", "path: /tmp/x.o", ErrInvalid, `is absolute`},
		{"escaping object", "path: opensnoop.bpf.o", "path: ../x.o", ErrInvalid, `leaves the manifest's directory`},
		{"no capabilities", "capabilities: [CAP_BPF, CAP_PERFMON]\n", "", ErrInvalid, `capabilities: missing`},
		{"unknown capability", "CAP_PERFMON]", "CAP_PERFMUN]", ErrInvalid, `m.yaml:8: capabilities[1]: unknown capability: CAP_PERFMUN`},
		{"duplicate capability", "CAP_PERFMON]", "CAP_BPF]", ErrInvalid, `listed twice`},
		{"relative pin", "maps:", "pin: bpfload/x\nmaps:", ErrInvalid, `pin:`},
		{"attach word", "attach: none", "attach: nothing", ErrInvalid, `m.yaml:13: programs[1].attach: invalid attach request: "nothing" is not an attach kind`},
		{"two attach kinds", "{tracepoint: syscalls/sys_enter_openat}", "{tracepoint: a/b, raw_tracepoint: c}", ErrInvalid, `programs[0].attach: invalid attach request: 2 attach kinds`},
		{"empty attach", "{tracepoint: syscalls/sys_enter_openat}", "{}", ErrInvalid, `no attach kind given`},
		{"duplicate program", "name: sock_filter", "name: count_openat", ErrInvalid, `already listed at programs[0]`},
		{"no programs", good[strings.Index(good, "programs:"):], "", ErrInvalid, `programs: missing`},
		{"two documents", "maps:", "---\nmaps:", ErrSyntax, ``},
		{"bad mode", "maps:", "mode: \"4755\"\nmaps:", ErrInvalid, `mode: "4755" must be octal permissions`},
		{"mode without owner rw", "maps:", "mode: \"0444\"\nmaps:", ErrInvalid, `keep the owner's read and write`},
		{"unknown owner", "maps:", "owner: no-such-user-here\nmaps:", ErrInvalid, `owner "no-such-user-here"`},
		{"empty owner", "maps:", "owner: \":\"\nmaps:", ErrInvalid, `give USER, USER:GROUP or :GROUP`},
		{"tag", "version: 3", "version: !!int 3", ErrSyntax, `m.yaml:4: YAML tags`},
		{"anchor and alias", "version: 3", "version: &v 3\nissuedAt: *v", ErrSyntax, `anchors`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			src := strings.Replace(good, c.from, c.to, 1)
			if src == good {
				t.Fatalf("case does not change the manifest")
			}
			_, err := ParseManifest("m.yaml", []byte(src))
			if !errors.Is(err, c.sentinel) {
				t.Fatalf("error %v, want %v", err, c.sentinel)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q lacks %q", err, c.want)
			}
		})
	}
}

func TestParseEmpty(t *testing.T) {
	for _, src := range []string{"", "# only a comment\n", "- a list\n"} {
		if _, err := ParseManifest("m.yaml", []byte(src)); !errors.Is(err, ErrSyntax) {
			t.Errorf("%q: %v", src, err)
		}
	}
}

func writeObject(t *testing.T, dir string, data []byte) *Manifest {
	t.Helper()
	sum := sha256.Sum256(data)
	src := strings.Replace(good, digest, hex.EncodeToString(sum[:]), 1)
	path := filepath.Join(dir, "m.yaml")
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := ReadManifest(path)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestReadObject(t *testing.T) {
	dir := t.TempDir()
	obj := []byte("\x7fELF not really")
	m := writeObject(t, dir, obj)
	if err := os.WriteFile(filepath.Join(dir, "opensnoop.bpf.o"), obj, 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := m.ReadObject()
	if err != nil || string(got) != string(obj) {
		t.Fatalf("ReadObject: %q, %v", got, err)
	}
	// One flipped byte.
	obj[1] ^= 1
	if err := os.WriteFile(filepath.Join(dir, "opensnoop.bpf.o"), obj, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := m.ReadObject(); !errors.Is(err, ErrDigestMismatch) || !strings.Contains(err.Error(), "m.yaml:7") {
		t.Errorf("flipped byte: %v", err)
	}
}

func TestReadObjectRefusesSymlinks(t *testing.T) {
	dir := t.TempDir()
	outside := filepath.Join(t.TempDir(), "real.o")
	if err := os.WriteFile(outside, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	m := writeObject(t, dir, []byte("x"))
	if err := os.Symlink(outside, filepath.Join(dir, "opensnoop.bpf.o")); err != nil {
		t.Fatal(err)
	}
	if _, err := m.ReadObject(); !errors.Is(err, ErrObjectPath) || !strings.Contains(err.Error(), "symlink") {
		t.Errorf("symlinked object: %v", err)
	}
}

func TestReadObjectMissing(t *testing.T) {
	m := writeObject(t, t.TempDir(), []byte("x"))
	if _, err := m.ReadObject(); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing object: %v", err)
	}
}

func TestReadLimits(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "big"), make([]byte, 101), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := readBeneath(dir, "big", 100); !errors.Is(err, ErrTooLarge) {
		t.Errorf("over the limit: %v", err)
	}
	if data, err := readBeneath(dir, "big", 101); err != nil || len(data) != 101 {
		t.Errorf("at the limit: %d, %v", len(data), err)
	}
	if _, err := readLimited(dir, 100); err == nil {
		t.Error("a directory must not read as a manifest")
	}
}

func TestOwnerMode(t *testing.T) {
	m, err := ParseManifest("m.yaml", []byte(strings.Replace(good, "maps:", "owner: \"65534:0\"\nmode: \"0640\"\nmaps:", 1)))
	if err != nil {
		t.Fatal(err)
	}
	if m.PinOpts == nil || m.PinOpts.UID != 65534 || m.PinOpts.GID != 0 || m.PinOpts.Mode != 0o640 {
		t.Errorf("pin options %+v", m.PinOpts)
	}
	m, err = ParseManifest("m.yaml", []byte(strings.Replace(good, "maps:", "owner: \":root\"\nmaps:", 1)))
	if err != nil || m.PinOpts.UID != -1 || m.PinOpts.GID != 0 || m.PinOpts.Mode != 0 {
		t.Errorf("group only: %+v %v", m.PinOpts, err)
	}
}
