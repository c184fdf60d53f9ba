package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Each failure here is caught before any bpf() call: exit status, code
// and message are checked, and nothing may be loaded or pinned.

func TestManifestUnknownKey(t *testing.T) {
	e := newEnv(t)
	// Seven header lines, then these: colour is on line 12.
	m := e.manifest("m.yaml", "badkey", "tracing.bpf.o", `
capabilities: [CAP_BPF, CAP_PERFMON]
programs:
  - name: on_switch
    attach: {raw_tracepoint: sched_switch}
    colour: blue
`)
	r := e.mustFail(m, 3, "BPFLOAD-E011")
	wantFailure(t, r, 3, "BPFLOAD-E011", m+":12", "colour")
}

func TestManifestUnknownCapability(t *testing.T) {
	e := newEnv(t)
	m := e.manifest("m.yaml", "badcap", "tracing.bpf.o", `
capabilities: [CAP_BPF, CAP_PERFMONN]
programs:
  - name: on_switch
    attach: {raw_tracepoint: sched_switch}
`)
	r := e.mustFail(m, 3, "BPFLOAD-E012")
	wantFailure(t, r, 3, "BPFLOAD-E012", "CAP_PERFMONN", m+":8")
}

func TestManifestProgramNotInObject(t *testing.T) {
	e := newEnv(t)
	m := e.manifest("m.yaml", "noprog", "tracing.bpf.o", `
capabilities: [CAP_BPF, CAP_PERFMON]
programs:
  - name: no_such_program
    attach: {raw_tracepoint: sched_switch}
`)
	r := e.mustFail(m, 3, "BPFLOAD-E016")
	wantFailure(t, r, 3, "BPFLOAD-E016", "no_such_program", "on_switch")
}

func TestManifestAttachKindMismatch(t *testing.T) {
	e := newEnv(t)
	m := e.manifest("m.yaml", "mismatch", "tracing.bpf.o", `
capabilities: [CAP_BPF, CAP_PERFMON]
programs:
  - name: count_openat
    attach: {xdp: {interface: lo}}
`)
	r := e.mustFail(m, 3, "BPFLOAD-E017")
	wantFailure(t, r, 3, "BPFLOAD-E017", "count_openat", "tracepoint", m+":11")
}

func TestManifestNoSuchInterface(t *testing.T) {
	e := newEnv(t)
	m := e.manifest("m.yaml", "noiface", "net.bpf.o", `
capabilities: [CAP_BPF, CAP_NET_ADMIN]
programs:
  - name: xdp_count
    attach: {xdp: {interface: nosuch0, mode: generic}}
`)
	r := e.mustFail(m, 3, "BPFLOAD-E018")
	wantFailure(t, r, 3, "BPFLOAD-E018", "nosuch0")
}

// The object copy differs from the digest in the manifest by one byte.
func TestManifestDigestMismatch(t *testing.T) {
	e := newEnv(t)
	m := e.manifest("m.yaml", "digest", "tracing.bpf.o", switchManifest)
	obj := filepath.Join(e.dir, "tracing.bpf.o")
	data, err := os.ReadFile(obj)
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)/2] ^= 0xff
	if err := os.WriteFile(obj, data, 0o644); err != nil {
		t.Fatal(err)
	}
	r := e.mustFail(m, 3, "BPFLOAD-E014")
	wantFailure(t, r, 3, "BPFLOAD-E014", "sha256")
}

// Without --allow-unsigned an unsigned manifest is refused.
func TestManifestUnsignedRefused(t *testing.T) {
	e := newEnv(t)
	m := e.manifest("m.yaml", "unsigned", "tracing.bpf.o", switchManifest)
	r := e.run("load", m)
	wantFailure(t, r, 3, "BPFLOAD-E019", "--allow-unsigned")
	e.assertNothingLoaded()
}

// Run as root but with CAP_PERFMON out of the bounding set, so it is not
// in bpfload's permitted set: bpfload stops before any bpf() call and
// says how to grant it.
func TestCapabilityNotPermitted(t *testing.T) {
	e := newEnv(t)
	m := e.manifest("m.yaml", "notpermitted", "tracing.bpf.o", switchManifest)
	r := e.runRaw(exec.Command("setpriv", "--bounding-set", "-perfmon",
		bin, "load", "--pin-root", e.pinRoot, "--state-dir", e.stateDir, "--allow-unsigned", m))
	wantFailure(t, r, 4, "BPFLOAD-E030", "CAP_PERFMON", "setcap cap_bpf,cap_perfmon+p")
	e.assertNothingLoaded()
}
