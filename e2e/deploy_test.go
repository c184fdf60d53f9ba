package e2e

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"
	"kernel.org/pub/linux/libs/security/libcap/cap"
)

// repoRoot is the module's root, where the Makefile and deploy/ live.
func repoRoot() string { return filepath.Dir(filepath.Dir(testdata)) }

// makeIn runs make in the repository root. BIN and VERSION are set so
// make writes nothing into the tree and runs no git command.
func makeIn(t *testing.T, binDir string, args ...string) (string, error) {
	t.Helper()
	full := append([]string{"-C", repoRoot(), "BIN=" + filepath.Join(binDir, "bpfload"), "VERSION=e2e"}, args...)
	out, err := exec.Command("make", full...).CombinedOutput()
	return string(out), err
}

// make install puts bpfload in PREFIX/bin with file capabilities in the
// permitted set only, never effective, never setuid; nobody loads, lists
// and unloads with it; make uninstall removes it.
func TestMakeInstallPermittedOnly(t *testing.T) {
	n := newNobodyEnv(t)
	prefix := filepath.Join(n.dir, "prefix")
	binDir := t.TempDir()
	if out, err := makeIn(t, binDir, "install", "PREFIX="+prefix); err != nil {
		t.Fatalf("make install: %v\n%s", err, out)
	}
	installed := filepath.Join(prefix, "bin", "bpfload")
	t.Cleanup(func() { _ = os.Remove(installed) })

	out := strings.TrimSpace(sh(t, "getcap", installed))
	text, ok := strings.CutPrefix(out, installed+" ")
	if !ok || !regexp.MustCompile(`^cap_[a-z_]+(,cap_[a-z_]+)*=p$`).MatchString(text) {
		t.Errorf("getcap %s: %q, want capabilities =p only", installed, out)
	}
	fc, err := cap.GetFile(installed)
	if err != nil {
		t.Fatalf("file capabilities of %s: %v", installed, err)
	}
	for _, c := range []cap.Value{cap.BPF, cap.PERFMON, cap.NET_ADMIN} {
		if on, _ := fc.GetFlag(cap.Permitted, c); !on {
			t.Errorf("%s lacks %s in its permitted file capabilities (%s)", installed, c, fc)
		}
	}
	for v := cap.Value(0); v < cap.MaxBits(); v++ {
		if on, _ := fc.GetFlag(cap.Effective, v); on {
			t.Errorf("%s has %s effective (%s): file capabilities must be +p only", installed, v, fc)
		}
		if on, _ := fc.GetFlag(cap.Inheritable, v); on {
			t.Errorf("%s has %s inheritable (%s)", installed, v, fc)
		}
	}
	fi, err := os.Stat(installed)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode()&(os.ModeSetuid|os.ModeSetgid) != 0 || fi.Mode().Perm() != 0o755 {
		t.Errorf("%s has mode %s, want 0755 and neither setuid nor setgid", installed, fi.Mode())
	}

	// As nobody with the installed binary alone.
	m := n.manifest("sw.yaml", "switches", "tracing.bpf.o", switchManifest)
	n.bin = installed
	r := n.runNobody("load", "--policy", n.trust(m), "--output", "json", m)
	if r.code != 0 {
		t.Fatalf("load as nobody: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	var rep loadReport
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("load report: %v\n%s", err, r.stdout)
	}
	if want := []string{"CAP_BPF", "CAP_PERFMON"}; !slices.Equal(rep.Capabilities.DuringLoad, want) || len(rep.Capabilities.AfterDrop) != 0 {
		t.Errorf("capabilities during load %v (want %v), after drop %v (want none)", rep.Capabilities.DuringLoad, want, rep.Capabilities.AfterDrop)
	}
	r = n.runNobody("list", "--output", "json")
	var items []listItem
	if err := json.Unmarshal([]byte(r.stdout), &items); r.code != 0 || err != nil {
		t.Fatalf("list as nobody: exit %d, %v\n%s%s", r.code, err, r.stdout, r.stderr)
	}
	if len(items) != 1 || items[0].Name != "switches" || items[0].Status != "ok" {
		t.Errorf("list as nobody: %+v", items)
	}
	if r := n.runNobody("unload", "switches"); r.code != 0 {
		t.Fatalf("unload as nobody: exit %d\n%s", r.code, r.stderr)
	}
	n.assertNothingLoaded()

	if out, err := makeIn(t, binDir, "uninstall", "PREFIX="+prefix); err != nil {
		t.Fatalf("make uninstall: %v\n%s", err, out)
	}
	if _, err := os.Lstat(installed); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("after make uninstall, %s: %v; want it gone", installed, err)
	}
}

// make install refuses CAPS that carry their own flags: it adds +p itself,
// so nothing can be made effective or inheritable that way.
func TestMakeInstallRefusesFlags(t *testing.T) {
	requireRoot(t)
	for _, caps := range []string{"cap_bpf+ep", "cap_bpf,cap_perfmon=eip"} {
		prefix := filepath.Join(t.TempDir(), "prefix")
		out, err := makeIn(t, t.TempDir(), "install", "PREFIX="+prefix, "CAPS="+caps)
		if err == nil {
			t.Errorf("make install CAPS=%s succeeded:\n%s", caps, out)
		}
		if _, err := os.Lstat(filepath.Join(prefix, "bin", "bpfload")); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("make install CAPS=%s installed %s/bin/bpfload anyway (%v)", caps, prefix, err)
		}
		if !strings.Contains(out, "CAPS lists names only") {
			t.Errorf("make install CAPS=%s does not say why:\n%s", caps, out)
		}
	}
}

// systemdVerify runs systemd-analyze verify on a unit file.
func systemdVerify(t *testing.T, unit string) result {
	t.Helper()
	var out, errb bytes.Buffer
	cmd := exec.Command("systemd-analyze", "verify", unit)
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errb.String()}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("systemd-analyze verify %s: %v", unit, err)
	}
	return r
}

// The systemd template unit, instantiated for opensnoop with the binary
// under test, verifies without a single warning; systemd-analyze exits 0
// on warnings, so stderr must be empty too. A broken copy proves the
// check sees warnings.
func TestSystemdUnitVerifies(t *testing.T) {
	if _, err := exec.LookPath("systemd-analyze"); err != nil {
		t.Skip("systemd-analyze is not installed")
	}
	data, err := os.ReadFile(filepath.Join(repoRoot(), "deploy", "systemd", "bpfload@.service"))
	if err != nil {
		t.Fatal(err)
	}
	const installed = "/usr/local/bin/bpfload"
	text := string(data)
	for _, key := range []string{"ExecStart=" + installed + " ", "ExecStop=" + installed + " "} {
		if !strings.Contains(text, "\n"+key) {
			t.Fatalf("the unit has no line starting %q", key)
		}
	}
	unit := strings.ReplaceAll(text, installed, bin)

	good := filepath.Join(t.TempDir(), "bpfload@opensnoop.service")
	if err := os.WriteFile(good, []byte(unit), 0o644); err != nil {
		t.Fatal(err)
	}
	if r := systemdVerify(t, good); r.code != 0 || r.stderr != "" {
		t.Errorf("systemd-analyze verify %s: exit %d\nstdout: %s\nstderr: %s", good, r.code, r.stdout, r.stderr)
	}

	broken := filepath.Join(t.TempDir(), "bpfload@opensnoop.service")
	bad := strings.Replace(unit, "\n[Service]\n", "\n[Service]\nNoSuchDirective=yes\n", 1)
	if bad == unit {
		t.Fatal("the unit has no [Service] section")
	}
	if err := os.WriteFile(broken, []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	if r := systemdVerify(t, broken); !strings.Contains(r.stderr, "NoSuchDirective") {
		t.Errorf("systemd-analyze verify of a unit with an unknown directive: exit %d, no warning\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
}

// k8sObject is the part of a Kubernetes object this test reads.
type k8sObject struct {
	Kind     string `yaml:"kind"`
	Metadata struct {
		Name string `yaml:"name"`
	} `yaml:"metadata"`
	Data       map[string]string `yaml:"data"`
	BinaryData map[string]string `yaml:"binaryData"`
	Spec       struct {
		Pod      podSpec `yaml:",inline"` // a Pod's own spec
		Template struct {
			Spec podSpec `yaml:"spec"`
		} `yaml:"template"`
	} `yaml:"spec"`
}

type podSpec struct {
	Containers     []k8sContainer `yaml:"containers"`
	InitContainers []k8sContainer `yaml:"initContainers"`
}

type k8sContainer struct {
	Name            string   `yaml:"name"`
	Command         []string `yaml:"command"`
	Args            []string `yaml:"args"`
	SecurityContext struct {
		Capabilities struct {
			Add  []string `yaml:"add"`
			Drop []string `yaml:"drop"`
		} `yaml:"capabilities"`
	} `yaml:"securityContext"`
}

// k8sObjects decodes every document of every deploy/kubernetes/*.yaml.
func k8sObjects(t *testing.T) map[string][]k8sObject {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(repoRoot(), "deploy", "kubernetes", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no deploy/kubernetes/*.yaml: %v", err)
	}
	objs := map[string][]k8sObject{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(data))
		for {
			var o k8sObject
			if err := dec.Decode(&o); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			objs[filepath.Base(f)] = append(objs[filepath.Base(f)], o)
		}
	}
	return objs
}

// shortCaps turns CAP_BPF into BPF, as Kubernetes and docker name them.
func shortCaps(names []string) []string {
	out := make([]string, 0, len(names))
	for _, n := range names {
		out = append(out, strings.TrimPrefix(n, "CAP_"))
	}
	return out
}

func sortedCopy(s []string) []string {
	c := slices.Clone(s)
	slices.Sort(c)
	return c
}

// Every container that runs bpfload adds exactly the capabilities the
// dry-run finds for the example (plus exec's reserve for bpfload exec)
// and drops ALL; the ConfigMap carries the example's object unchanged.
func TestKubernetesManifests(t *testing.T) {
	e := newEnv(t)
	example := filepath.Join(repoRoot(), "examples", "opensnoop", "manifest.yaml")
	cmd := exec.Command(bin, "--dry-run", "--output", "json", example)
	// A stray pin or record would land in this test's own directories.
	cmd.Env = append(os.Environ(), "BPFLOAD_PIN_ROOT="+e.pinRoot, "BPFLOAD_STATE_DIR="+e.stateDir)
	r := e.runRaw(cmd)
	var dry struct {
		Required []string `json:"required_capabilities"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &dry); r.code != 0 || err != nil || len(dry.Required) == 0 {
		t.Fatalf("dry-run of %s: exit %d, %v\nstdout: %s\nstderr: %s", example, r.code, err, r.stdout, r.stderr)
	}
	required := shortCaps(dry.Required)

	var loads, execs int
	var configMaps []k8sObject
	for file, objs := range k8sObjects(t) {
		for _, o := range objs {
			if o.Kind == "ConfigMap" {
				configMaps = append(configMaps, o)
			}
			for _, spec := range []podSpec{o.Spec.Pod, o.Spec.Template.Spec} {
				for _, c := range append(slices.Clone(spec.InitContainers), spec.Containers...) {
					argv := append(slices.Clone(c.Command), c.Args...)
					if len(argv) < 2 || filepath.Base(argv[0]) != "bpfload" {
						continue
					}
					where := file + ": " + o.Metadata.Name + "/" + c.Name
					want := slices.Clone(required)
					switch argv[1] {
					case "load":
						loads++
					case "exec":
						execs++
						// exec clears the bounding set, and switches user.
						want = append(want, "SETPCAP")
						if slices.Contains(argv, "--user") {
							want = append(want, "SETUID", "SETGID")
						}
					default:
						t.Errorf("%s runs bpfload %s", where, argv[1])
						continue
					}
					add := c.SecurityContext.Capabilities.Add
					if !slices.Equal(sortedCopy(add), sortedCopy(want)) {
						t.Errorf("%s adds %v, want exactly %v", where, add, want)
					}
					if drop := c.SecurityContext.Capabilities.Drop; !slices.Equal(drop, []string{"ALL"}) {
						t.Errorf("%s drops %v, want [ALL]", where, drop)
					}
				}
			}
		}
	}
	if loads == 0 || execs == 0 {
		t.Errorf("found %d bpfload load and %d bpfload exec containers, want both kinds", loads, execs)
	}

	if len(configMaps) != 1 {
		t.Fatalf("%d ConfigMaps, want 1", len(configMaps))
	}
	cm := configMaps[0]
	var man struct {
		Object struct {
			Path   string `yaml:"path"`
			SHA256 string `yaml:"sha256"`
		} `yaml:"object"`
		Capabilities []string `yaml:"capabilities"`
	}
	if err := yaml.Unmarshal([]byte(cm.Data["manifest.yaml"]), &man); err != nil || man.Object.Path == "" {
		t.Fatalf("ConfigMap manifest.yaml: %v\n%s", err, cm.Data["manifest.yaml"])
	}
	if !slices.Equal(sortedCopy(man.Capabilities), sortedCopy(dry.Required)) {
		t.Errorf("ConfigMap manifest asks for %v, the dry-run finds %v", man.Capabilities, dry.Required)
	}
	obj, err := base64.StdEncoding.DecodeString(cm.BinaryData[man.Object.Path])
	if err != nil || len(obj) == 0 {
		t.Fatalf("ConfigMap binaryData %s: %d bytes, %v", man.Object.Path, len(obj), err)
	}
	if sum := sha256.Sum256(obj); hex.EncodeToString(sum[:]) != man.Object.SHA256 {
		t.Errorf("ConfigMap binaryData %s has sha256 %x, its manifest says %s", man.Object.Path, sum, man.Object.SHA256)
	}
	want, err := os.ReadFile(filepath.Join(repoRoot(), "examples", "opensnoop", "opensnoop.bpf.o"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(obj, want) {
		t.Errorf("ConfigMap binaryData %s differs from examples/opensnoop/opensnoop.bpf.o", man.Object.Path)
	}
	e.assertNothingLoaded()
}
