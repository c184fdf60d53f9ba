package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func runCLI(args ...string) (code int, stdout, stderr string) {
	var o, e bytes.Buffer
	code = run(append([]string{"bpfload"}, args...), &o, &e)
	return code, o.String(), e.String()
}

func TestUsageErrors(t *testing.T) {
	cases := [][]string{
		{"load"},
		{"load", "a.yaml", "b.yaml"},
		{"load", "--output", "yaml", "m.yaml"},
		{"load", "--no-such-flag", "m.yaml"},
		{"status"},
		{"sign", "m.yaml"}, // --key is required
	}
	for _, args := range cases {
		code, _, stderr := runCLI(args...)
		if code != 2 || !strings.Contains(stderr, "BPFLOAD-E001") {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 with BPFLOAD-E001", args, code, stderr)
		}
	}
}

func TestUnknownCommand(t *testing.T) {
	code, _, stderr := runCLI("lod", "m.yaml")
	if code != 2 || !strings.Contains(stderr, "BPFLOAD-E001") {
		t.Errorf("unknown command: exit %d, %s", code, stderr)
	}
}

func TestVersionAndHelp(t *testing.T) {
	if code, out, _ := runCLI("--version"); code != 0 || !strings.Contains(out, "bpfload version") {
		t.Errorf("--version: %d %q", code, out)
	}
	for _, cmd := range []string{"load", "unload", "list", "status", "verify", "sign"} {
		code, out, _ := runCLI(cmd, "--help")
		if code != 0 || !strings.Contains(out, "--state-dir") || !strings.Contains(out, "--policy") {
			t.Errorf("%s --help: exit %d, lacks the common flags:\n%s", cmd, code, out)
		}
	}
}

// Errors in JSON mode are one object on stdout with the code and exit status.
func TestJSONError(t *testing.T) {
	code, out, _ := runCLI("load", "--output", "json", "--state-dir", t.TempDir(), filepath.Join(t.TempDir(), "missing.yaml"))
	var doc struct {
		Error struct {
			Code string `json:"code"`
			Exit int    `json:"exit_status"`
		} `json:"error"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	if code != 3 || doc.Error.Code != "BPFLOAD-E010" || doc.Error.Exit != 3 {
		t.Errorf("exit %d, error %+v", code, doc.Error)
	}
}

func TestNameArg(t *testing.T) {
	if n, err := nameArg("opensnoop"); err != nil || n != "opensnoop" {
		t.Errorf("name: %q %v", n, err)
	}
	if _, err := nameArg("Not_A_Name"); err == nil {
		t.Error("bad name accepted")
	}
	dir := t.TempDir()
	m := filepath.Join(dir, "m.yaml")
	os.WriteFile(m, []byte("apiVersion: bpfload/v1\nkind: Manifest\nname: from-file\nversion: 1\nobject: {path: x.o, sha256: '"+strings.Repeat("0", 64)+"'}\ncapabilities: []\nprograms: [{name: p, attach: none}]\n"), 0o644)
	if n, err := nameArg(m); err != nil || n != "from-file" {
		t.Errorf("manifest file: %q %v", n, err)
	}
}

func TestNoSymlinks(t *testing.T) {
	dir := t.TempDir()
	os.Mkdir(filepath.Join(dir, "real"), 0o755)
	os.Symlink(filepath.Join(dir, "real"), filepath.Join(dir, "link"))
	if err := noSymlinks(filepath.Join(dir, "real", "x")); err != nil {
		t.Error(err)
	}
	if err := noSymlinks(filepath.Join(dir, "link", "x")); err == nil {
		t.Error("a path through a symlink was accepted")
	}
}
