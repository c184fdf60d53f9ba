// Command harness is `make bench`: it measures, in one run on one machine,
// bpfload end to end against a minimal cilium/ebpf loader and against
// bpftool prog loadall, on three objects (one small program, 64
// independent programs, a few verifier-heavy ones), interleaved and
// repeated, and prints medians, min/max, peak RSS and the ratios against
// the baselines measured in the same run. It also times --dry-run (and
// counts its trial loads) and `bpfload verify`.
//
// It runs as root: it mounts a private bpffs, and removes everything it
// loads and pins.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

var (
	runs   = flag.Int("runs", 7, "measured runs of each command (at least 5)")
	bpfDir = flag.String("objects", "bench/bpf", "directory holding small.bpf.o, many.bpf.o and heavy.bpf.o")
)

// object is one benchmark object and its programs.
type object struct {
	name  string
	progs []string
	dir   string // its manifests, signatures and a copy of the object
}

// variant is one command measured on one object.
type variant struct {
	name    string
	args    []string
	cleanup func() error
	samples []sample
}

type sample struct {
	wall   time.Duration
	maxRSS int64 // KiB, as /usr/bin/time -v reports it
}

type env struct {
	work, bin, minimal, pinRoot, state, policy string
}

func main() {
	flag.Parse()
	if *runs < 5 {
		fail(fmt.Errorf("-runs must be at least 5"))
	}
	if os.Geteuid() != 0 {
		fail(fmt.Errorf("the benchmark loads eBPF programs: run it as root"))
	}
	e, done, err := setup()
	if err != nil {
		fail(err)
	}
	defer done()
	if err := run(e); err != nil {
		done()
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "bench:", err)
	os.Exit(1)
}

func setup() (*env, func(), error) {
	work, err := os.MkdirTemp("", "bpfload-bench-")
	if err != nil {
		return nil, nil, err
	}
	e := &env{work: work, bin: filepath.Join(work, "bpfload"), minimal: filepath.Join(work, "minimal"),
		pinRoot: filepath.Join(work, "bpffs", "bpfload"), state: filepath.Join(work, "state"), policy: filepath.Join(work, "policy.yaml")}
	bpffs := filepath.Join(work, "bpffs")
	var mounted bool
	done := func() {
		if mounted {
			_ = unix.Unmount(bpffs, unix.MNT_DETACH)
			mounted = false
		}
		_ = os.RemoveAll(work)
	}
	for _, b := range []struct{ out, pkg string }{{e.bin, "./cmd/bpfload"}, {e.minimal, "./bench/minimal"}} {
		cmd := exec.Command("go", "build", "-trimpath", "-o", b.out, b.pkg)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			done()
			return nil, nil, fmt.Errorf("build %s: %v\n%s", b.pkg, err, out)
		}
	}
	if err := os.Mkdir(bpffs, 0o755); err != nil {
		done()
		return nil, nil, err
	}
	if err := unix.Mount("bpf", bpffs, "bpf", 0, ""); err != nil {
		done()
		return nil, nil, fmt.Errorf("mount bpffs: %w", err)
	}
	mounted = true
	key := filepath.Join(work, "key")
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "bench", "-f", key).CombinedOutput(); err != nil {
		done()
		return nil, nil, fmt.Errorf("ssh-keygen: %v\n%s", err, out)
	}
	pub, err := os.ReadFile(key + ".pub")
	if err != nil {
		done()
		return nil, nil, err
	}
	policy := fmt.Sprintf(`apiVersion: bpfload/v1
kind: TrustPolicy
signers:
  - name: bench
    ssh: %q
rules:
  - manifests: ["*"]
    signers: [bench]
    capabilities: [CAP_BPF, CAP_PERFMON]
    pinRoot: %s
`, strings.TrimSpace(string(pub)), e.pinRoot)
	if err := os.WriteFile(e.policy, []byte(policy), 0o600); err != nil {
		done()
		return nil, nil, err
	}
	return e, done, nil
}

// prepare copies an object beside two signed manifests: every program
// attached (raw tracepoint), and every program with attach: none.
func (e *env) prepare(name string) (*object, error) {
	src := filepath.Join(*bpfDir, name+".bpf.o")
	data, err := os.ReadFile(src)
	if err != nil {
		return nil, err
	}
	o := &object{name: name, dir: filepath.Join(e.work, name)}
	if err := os.Mkdir(o.dir, 0o755); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(o.dir, name+".bpf.o"), data, 0o644); err != nil {
		return nil, err
	}
	out, err := exec.Command(e.bin, "init", "--no-dry-run", filepath.Join(o.dir, name+".bpf.o")).Output()
	if err != nil {
		return nil, fmt.Errorf("init %s: %w", name, err)
	}
	var sha string
	for _, l := range strings.Split(string(out), "\n") {
		if s, ok := strings.CutPrefix(strings.TrimSpace(l), "sha256: "); ok {
			sha = s
		}
		if n, ok := strings.CutPrefix(strings.TrimSpace(l), "- name: "); ok {
			o.progs = append(o.progs, strings.Fields(n)[0])
		}
	}
	for _, kind := range []string{"attach", "none"} {
		var b strings.Builder
		fmt.Fprintf(&b, "apiVersion: bpfload/v1\nkind: Manifest\nname: %s-%s\nversion: 1\nobject: {path: %s.bpf.o, sha256: %s}\ncapabilities: [CAP_BPF, CAP_PERFMON]\nprograms:\n", name, kind, name, sha)
		for _, p := range o.progs {
			attach := "none"
			if kind == "attach" {
				attach = "{raw_tracepoint: bpf_test_finish}"
			}
			fmt.Fprintf(&b, "  - name: %s\n    attach: %s\n", p, attach)
		}
		m := filepath.Join(o.dir, kind+".yaml")
		if err := os.WriteFile(m, []byte(b.String()), 0o644); err != nil {
			return nil, err
		}
		if out, err := exec.Command(e.bin, "sign", "--key", filepath.Join(e.work, "key"), m).CombinedOutput(); err != nil {
			return nil, fmt.Errorf("sign: %v\n%s", err, out)
		}
	}
	return o, nil
}

func (e *env) loadVariant(label string, o *object, kind string, extra ...string) *variant {
	args := append([]string{e.bin, "load", "--policy", e.policy, "--pin-root", e.pinRoot, "--state-dir", e.state}, extra...)
	args = append(args, filepath.Join(o.dir, kind+".yaml"))
	name := o.name + "-" + kind
	return &variant{name: label, args: args, cleanup: func() error {
		out, err := exec.Command(e.bin, "unload", "--pin-root", e.pinRoot, "--state-dir", e.state, name).CombinedOutput()
		if err != nil {
			return fmt.Errorf("unload %s: %v: %s", name, err, out)
		}
		return nil
	}}
}

func (e *env) pinDirVariant(label string, args []string, dir string) *variant {
	return &variant{name: label, args: args, cleanup: func() error { return removeTree(dir) }}
}

// removeTree removes a pin tree; bpffs needs no more than unlink and rmdir.
func removeTree(dir string) error {
	ents, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, en := range ents {
		p := filepath.Join(dir, en.Name())
		if en.IsDir() {
			if err := removeTree(p); err != nil {
				return err
			}
		} else if err := os.Remove(p); err != nil {
			return err
		}
	}
	return os.Remove(dir)
}

func (v *variant) once() error {
	cmd := exec.Command(v.args[0], v.args[1:]...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	if err != nil {
		return fmt.Errorf("%s: %v\n%s", strings.Join(v.args, " "), err, stderr.String())
	}
	ru, _ := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	s := sample{wall: wall}
	if ru != nil {
		s.maxRSS = ru.Maxrss
	}
	v.samples = append(v.samples, s)
	return v.cleanup()
}

type stats struct{ median, min, max time.Duration }

func (v *variant) stats() stats {
	d := make([]time.Duration, len(v.samples))
	for i, s := range v.samples {
		d[i] = s.wall
	}
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	return stats{median: d[len(d)/2], min: d[0], max: d[len(d)-1]}
}

func (v *variant) peakRSS() int64 {
	var m int64
	for _, s := range v.samples {
		m = max(m, s.maxRSS)
	}
	return m
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f", float64(d.Microseconds())/1000) }

func run(e *env) error {
	fmt.Printf("# bpfload benchmark\n\n%s; %d CPUs; %s; %d runs each, interleaved\n\n", kernel(), runtime.NumCPU(), time.Now().UTC().Format("2006-01-02"), *runs)
	type result struct {
		obj      *object
		variants map[string]*variant
	}
	var results []result
	for _, name := range []string{"small", "many", "heavy"} {
		o, err := e.prepare(name)
		if err != nil {
			return err
		}
		minDir := filepath.Join(e.pinRoot, "..", "minimal-"+name)
		toolDir := filepath.Join(e.pinRoot, "..", "bpftool-"+name)
		obj := filepath.Join(o.dir, name+".bpf.o")
		vs := []*variant{
			e.loadVariant("bpfload", o, "attach"),
			e.loadVariant("bpfload (attach: none)", o, "none"),
			e.pinDirVariant("cilium-minimal", []string{e.minimal, obj, minDir, "attach"}, minDir),
			e.pinDirVariant("cilium-minimal (no attach)", []string{e.minimal, obj, minDir, "none"}, minDir),
			e.pinDirVariant("bpftool prog loadall", []string{"bpftool", "prog", "loadall", obj, toolDir}, toolDir),
		}
		if name == "many" {
			vs = append(vs, e.loadVariant("bpfload --jobs 1 (attach: none)", o, "none", "--jobs", "1"),
				e.loadVariant("bpfload --jobs 2 (attach: none)", o, "none", "--jobs", "2"))
		}
		// Warm up caches (page cache, kernel BTF) once, unmeasured.
		for _, v := range vs {
			if err := v.once(); err != nil {
				return err
			}
			v.samples = nil
		}
		for r := 0; r < *runs; r++ {
			for _, v := range vs {
				if err := v.once(); err != nil {
					return err
				}
			}
		}
		res := result{obj: o, variants: map[string]*variant{}}
		fmt.Printf("## %s.bpf.o: %d programs\n\n| command | median ms | min ms | max ms | peak RSS MB |\n|---|---|---|---|---|\n", name, len(o.progs))
		for _, v := range vs {
			s := v.stats()
			fmt.Printf("| %s | %s | %s | %s | %.1f |\n", v.name, ms(s.median), ms(s.min), ms(s.max), float64(v.peakRSS())/1024)
			res.variants[v.name] = v
		}
		fmt.Println()
		results = append(results, res)
	}

	fmt.Printf("## Ratios (medians of this run)\n\n| object | bpfload / cilium-minimal | bpfload (attach: none) / bpftool | attach cost (bpfload - none) ms |\n|---|---|---|---|\n")
	ratio := func(a, b *variant) float64 { return float64(a.stats().median) / float64(b.stats().median) }
	for _, r := range results {
		v := r.variants
		fmt.Printf("| %s | %.2f | %.2f | %s |\n", r.obj.name, ratio(v["bpfload"], v["cilium-minimal"]), ratio(v["bpfload (attach: none)"], v["bpftool prog loadall"]),
			ms(v["bpfload"].stats().median-v["bpfload (attach: none)"].stats().median))
	}
	fmt.Println()
	many := results[1].variants
	fmt.Printf("Scaling on many.bpf.o (attach: none): --jobs 1 %s ms, --jobs 2 %s ms (%.2fx)\n\n",
		ms(many["bpfload --jobs 1 (attach: none)"].stats().median), ms(many["bpfload --jobs 2 (attach: none)"].stats().median),
		ratio(many["bpfload --jobs 1 (attach: none)"], many["bpfload --jobs 2 (attach: none)"]))

	fmt.Printf("## --dry-run\n\n| object | median ms | trial loads | required capabilities | at most required+2 |\n|---|---|---|---|---|\n")
	for _, r := range results {
		var walls []time.Duration
		var trials, required int
		for i := 0; i < 5; i++ {
			start := time.Now()
			out, err := exec.Command(e.bin, "--dry-run", "--output", "json", filepath.Join(r.obj.dir, "attach.yaml")).Output()
			walls = append(walls, time.Since(start))
			var res struct {
				Trials   int      `json:"trials"`
				Required []string `json:"required_capabilities"`
			}
			if jerr := json.Unmarshal(out, &res); jerr != nil {
				return fmt.Errorf("dry-run %s: %v %v", r.obj.name, err, jerr)
			}
			trials, required = res.Trials, len(res.Required)
		}
		sort.Slice(walls, func(i, j int) bool { return walls[i] < walls[j] })
		fmt.Printf("| %s | %s | %d | %d | %v |\n", r.obj.name, ms(walls[len(walls)/2]), trials, required, trials <= required+2)
	}
	fmt.Println()

	verify := &variant{name: "verify", args: []string{e.bin, "verify", "--policy", e.policy, "--pin-root", e.pinRoot, filepath.Join(results[0].obj.dir, "attach.yaml")}, cleanup: func() error { return nil }}
	for i := 0; i < 2*(*runs)+1; i++ {
		if err := verify.once(); err != nil {
			return err
		}
	}
	vs := verify.stats()
	var loadRSS int64
	for _, r := range results {
		loadRSS = max(loadRSS, r.variants["bpfload"].peakRSS())
	}
	fmt.Printf("## Targets\n\n")
	target := func(what string, ok bool, got string) {
		verdict := "met"
		if !ok {
			verdict = "MISSED"
		}
		fmt.Printf("- %s: %s (%s)\n", what, verdict, got)
	}
	heavy, small := results[2].variants, results[0].variants
	target("bpfload <= 1.05x cilium-minimal on heavy.bpf.o", ratio(heavy["bpfload"], heavy["cilium-minimal"]) <= 1.05, fmt.Sprintf("%.2fx", ratio(heavy["bpfload"], heavy["cilium-minimal"])))
	target("bpfload <= 1.2x cilium-minimal on small.bpf.o", ratio(small["bpfload"], small["cilium-minimal"]) <= 1.2, fmt.Sprintf("%.2fx", ratio(small["bpfload"], small["cilium-minimal"])))
	target("bpfload <= 0.7x bpftool prog loadall on many.bpf.o", ratio(many["bpfload (attach: none)"], many["bpftool prog loadall"]) <= 0.7, fmt.Sprintf("%.2fx", ratio(many["bpfload (attach: none)"], many["bpftool prog loadall"])))
	target("bpfload verify of a small manifest under 20 ms", vs.median < 20*time.Millisecond, ms(vs.median)+" ms median, "+ms(vs.min)+" to "+ms(vs.max))
	target("peak RSS of a load under 40 MB", loadRSS < 40*1024, fmt.Sprintf("%.1f MB", float64(loadRSS)/1024))
	return nil
}

func kernel() string {
	var u unix.Utsname
	if unix.Uname(&u) != nil {
		return "Linux"
	}
	return "Linux " + strings.TrimRight(string(u.Release[:]), "\x00")
}
