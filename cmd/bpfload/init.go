package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/bpfload/bpfload/caps"
	"github.com/bpfload/bpfload/diag"
	"github.com/bpfload/bpfload/dryrun"
	"github.com/bpfload/bpfload/loader"
	"github.com/urfave/cli/v2"
)

func trialCommand() *cli.Command {
	return &cli.Command{
		Name:   dryrun.TrialCommand,
		Hidden: true,
		Usage:  "internal: one dry-run trial, request on stdin",
		Action: func(c *cli.Context) error {
			var check func(*dryrun.Trial) error
			if privileged() {
				check = checkTrial
			}
			if err := dryrun.RunTrial(os.Stdin, os.Stdout, check); err != nil {
				return diag.As(err) // a refusal keeps its own code
			}
			return nil
		},
	}
}

func initCommand(out *outputMode) *cli.Command {
	return &cli.Command{
		Name:      "init",
		Usage:     "write a manifest skeleton for an object: programs, attach from ELF sections, digest, discovered capabilities",
		ArgsUsage: "OBJECT.o",
		Description: `Lists every program of the object with the attach its ELF section
suggests (targets it cannot know are marked CHANGE-ME), the object's
digest, and the least-privilege capabilities a dry-run finds, with the
matching setcap, systemd, Kubernetes and docker lines as comments. Edit it,
then sign it.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "out", Usage: "write the manifest to `FILE` instead of stdout (never overwrites)"},
			&cli.BoolFlag{Name: "no-dry-run", Usage: "only predict the capabilities from the object; run no trial"},
		},
		Action: func(c *cli.Context) error {
			if err := setup(c, out, 1, "OBJECT.o"); err != nil {
				return err
			}
			text, err := initManifest(c.Args().First(), !c.Bool("no-dry-run"))
			if err != nil {
				return err
			}
			dst := c.String("out")
			if dst == "" {
				_, err := io.WriteString(c.App.Writer, text)
				return err
			}
			if err := writeFile(dst, []byte(text), false); err != nil {
				return err
			}
			return nil
		},
	}
}

var nonName = regexp.MustCompile(`[^a-z0-9-]+`)

func initManifest(objPath string, trial bool) (string, error) {
	obj, err := os.ReadFile(objPath)
	if err != nil {
		return "", diag.Wrap(diag.EObjectRead, err)
	}
	guessed, err := loader.GuessPrograms(obj)
	if err != nil {
		return "", diag.Wrap(diag.EBadObject, err)
	}
	vars, err := loader.Variables(obj)
	if err != nil {
		return "", diag.Wrap(diag.EBadObject, err)
	}
	unsized, err := loader.UnsizedMaps(obj)
	if err != nil {
		return "", diag.Wrap(diag.EBadObject, err)
	}
	// Capabilities do not depend on map sizes: dry-run with provisional ones.
	var sizes []loader.MapSetting
	for _, u := range unsized {
		sizes = append(sizes, loader.MapSetting{Name: u.Name, MaxEntries: u.SuggestMaxEntries, ValueSize: u.SuggestValueSize})
	}
	input := func(progs []loader.Guessed) *dryrun.Input { return guessedInput(obj, progs, sizes) }
	var notes []string
	blocked := map[string]bool{}
	chosen := guessed
	var required []string
	if trial && privileged() {
		trial = false
		notes = append(notes, "bpfload runs with file capabilities here, so init tries no load of an unsigned object")
	}
	if trial {
		res, err := dryrun.Run(context.Background(), input(guessed))
		if err != nil {
			return "", prepareErrorPlain(err)
		}
		var dropped []string
		chosen, dropped = chooseVariants(guessed, res)
		notes = append(notes, dropped...)
		if len(dropped) > 0 {
			if res, err = dryrun.Run(context.Background(), input(chosen)); err != nil {
				return "", prepareErrorPlain(err)
			}
		}
		required = res.Required
		for _, b := range res.Blocked {
			blocked[b.Program] = true
			notes = append(notes, fmt.Sprintf("program %s is blocked here (%s): %s", b.Program, b.Phase, b.Cause))
		}
		notes = append(notes, res.Notes...)
	} else {
		required = dryrun.Predicted(input(guessed))
		notes = append(notes, "capabilities predicted from the object, not proven: run bpfload --dry-run on the edited manifest")
	}
	base := filepath.Base(objPath)
	name := strings.Trim(nonName.ReplaceAllString(strings.ToLower(strings.TrimSuffix(strings.TrimSuffix(base, ".o"), ".bpf")), "-"), "-")
	if name == "" {
		name = "CHANGE-ME"
	}
	if len(name) > 63 {
		name = name[:63]
	}
	sum := sha256.Sum256(obj)
	var b strings.Builder
	fmt.Fprintf(&b, "# Written by bpfload init from %s. Edit the CHANGE-ME parts, check\n# the capabilities with bpfload --dry-run, then sign it.\n", base)
	for _, n := range notes {
		fmt.Fprintf(&b, "# note: %s\n", n)
	}
	fmt.Fprintf(&b, "apiVersion: bpfload/v1\nkind: Manifest\nname: %s\nversion: 1\nobject:\n  path: %s\n  sha256: %s\n", name, base, hex.EncodeToString(sum[:]))
	fmt.Fprintf(&b, "capabilities: [%s]\n", strings.Join(required, ", "))
	if len(vars) > 0 {
		b.WriteString("# The object's global variables, set before load (name: value); uncomment to set:\n# constants:\n")
		for _, v := range vars {
			kind := "variable"
			if v.Constant {
				kind = "const volatile"
			}
			fmt.Fprintf(&b, "#   %s: %s   # %s %s in %s\n", v.Name, v.Default, kind, v.Type, v.Section)
		}
	}
	b.WriteString("programs:\n")
	for _, g := range chosen {
		prefix := ""
		if blocked[g.Name] {
			prefix = "# (blocked here, see the notes) "
		}
		fmt.Fprintf(&b, "%s  - name: %s          # %s, SEC(%q)\n%s    attach: %s", prefix, g.Name, g.Type, g.Section, prefix, attachYAML(g.Attach))
		if g.Placeholder != "" {
			fmt.Fprintf(&b, "   # CHANGE-ME: %s", g.Placeholder)
		}
		b.WriteString("\n")
	}
	if len(unsized) > 0 {
		// Listing maps pins exactly those listed, so list every map the
		// programs use, sizing the ones the object leaves open.
		used := usedMaps(obj, chosen, sizes)
		b.WriteString("# Maps: the object leaves some unsized, and the load fails until they have a size for this host.\nmaps:\n")
		for _, name := range used {
			if strings.Contains(name, ".") {
				continue // data sections: set through constants, never pinned
			}
			fmt.Fprintf(&b, "  - name: %s\n", name)
			for _, u := range unsized {
				if u.Name == name {
					fmt.Fprintf(&b, "    maxEntries: %d      # CHANGE-ME: %s, size for this host\n", u.SuggestMaxEntries, u.Type)
					if u.SuggestValueSize != 0 {
						fmt.Fprintf(&b, "    valueSize: %d\n", u.SuggestValueSize)
					}
				}
			}
		}
	}
	set, _ := caps.Parse(required)
	b.WriteString("# Granting these capabilities:\n")
	for _, h := range caps.GrantHints(set, "/usr/local/bin/bpfload") {
		fmt.Fprintf(&b, "#   %s\n", h)
	}
	return b.String(), nil
}

// hookKinds are the attach kinds that can hook the same kernel event.
var hookPrefixes = []string{"__x64_sys_", "__arm64_sys_", "__se_sys_", "sys_enter_", "sys_exit_", "do_sys_", "ksys_", "do_", "sys_"}

// hookKey names the kernel event a tracing program hooks, so alternatives
// for one hook (kprobe, fentry, tracepoint, raw_tp, tp_btf) group together.
func hookKey(g loader.Guessed) string {
	var target string
	ret := false
	switch {
	case g.Attach.Kprobe != nil:
		target, ret = g.Attach.Kprobe.Symbol, g.Attach.Kprobe.Return
	case g.Attach.Tracepoint != nil:
		t := string(*g.Attach.Tracepoint)
		target = t[strings.LastIndex(t, "/")+1:]
		ret = strings.Contains(t, "sys_exit_")
	case g.Attach.RawTracepoint != nil:
		target = string(*g.Attach.RawTracepoint)
	case g.Attach.Tracing != nil:
		_, target, _ = strings.Cut(g.Section, "/")
		ret = strings.HasPrefix(g.Section, "fexit") || strings.HasPrefix(g.Section, "fmod_ret")
	default:
		return ""
	}
	for _, p := range hookPrefixes {
		if t, ok := strings.CutPrefix(target, p); ok {
			target = t
			break
		}
	}
	if ret {
		target += " (return)"
	}
	return target
}

// kindRank orders equally cheap variants: BTF-based first, kprobes last.
func kindRank(g loader.Guessed) int {
	switch {
	case g.Attach.Tracing != nil:
		return 0
	case g.Attach.RawTracepoint != nil:
		return 1
	case g.Attach.Tracepoint != nil:
		return 2
	}
	return 3
}

// chooseVariants keeps, for each hook with several variants, the one this
// kernel loads with the fewest capabilities, and says why of the others.
func chooseVariants(all []loader.Guessed, res *dryrun.Result) ([]loader.Guessed, []string) {
	blocked := map[string]string{}
	for _, b := range res.Blocked {
		blocked[b.Program] = b.Cause
	}
	ncaps := map[string]int{}
	for _, p := range res.Programs {
		seen := map[string]bool{}
		for _, n := range p.Capabilities {
			seen[n.Capability] = true
		}
		ncaps[p.Name] = len(seen)
	}
	groups := map[string][]loader.Guessed{}
	for _, g := range all {
		if k := hookKey(g); k != "" {
			groups[k] = append(groups[k], g)
		}
	}
	drop := map[string]bool{}
	var notes []string
	for key, vs := range groups {
		kinds := map[string]bool{}
		for _, v := range vs {
			kinds[strings.SplitN(v.Section, "/", 2)[0]] = true
		}
		if len(kinds) < 2 {
			continue // several programs on one hook of one kind: not alternatives
		}
		best := -1
		for i, v := range vs {
			if _, bad := blocked[v.Name]; bad {
				continue
			}
			if best < 0 || ncaps[v.Name] < ncaps[vs[best].Name] || (ncaps[v.Name] == ncaps[vs[best].Name] && kindRank(v) < kindRank(vs[best])) {
				best = i
			}
		}
		if best < 0 {
			continue // none loads here: keep them all, the notes say why
		}
		bestKind := strings.SplitN(vs[best].Section, "/", 2)[0]
		for i, v := range vs {
			if i == best || strings.SplitN(v.Section, "/", 2)[0] == bestKind {
				continue
			}
			drop[v.Name] = true
			why := fmt.Sprintf("needs %d capabilities to %s's %d", ncaps[v.Name], vs[best].Name, ncaps[vs[best].Name])
			if c, bad := blocked[v.Name]; bad {
				why = "it does not load here: " + c
			} else if ncaps[v.Name] == ncaps[vs[best].Name] {
				why = "as cheap, but " + vs[best].Name + "'s attach kind is preferred (BTF-based, then raw tracepoints, then tracepoints, then kprobes)"
			}
			notes = append(notes, fmt.Sprintf("hook %s: chose %s (%s) over %s (%s): %s", key, vs[best].Name, vs[best].Section, v.Name, v.Section, why))
		}
	}
	var keep []loader.Guessed
	for _, g := range all {
		if !drop[g.Name] {
			keep = append(keep, g)
		}
	}
	return keep, notes
}

// attachYAML renders an attach request in the manifest's flow style.
func attachYAML(a loader.Attach) string {
	switch {
	case a.Tracepoint != nil:
		return fmt.Sprintf("{tracepoint: %s}", *a.Tracepoint)
	case a.RawTracepoint != nil:
		return fmt.Sprintf("{raw_tracepoint: %s}", *a.RawTracepoint)
	case a.Tracing != nil:
		return "{tracing: {}}"
	case a.LSM != nil:
		return "{lsm: {}}"
	case a.Kprobe != nil:
		return fmt.Sprintf("{kprobe: {symbol: %s, return: %v}}", a.Kprobe.Symbol, a.Kprobe.Return)
	case a.Uprobe != nil:
		return fmt.Sprintf("{uprobe: {binary: %s, symbol: %s, return: %v}}", a.Uprobe.Binary, a.Uprobe.Symbol, a.Uprobe.Return)
	case a.XDP != nil:
		return fmt.Sprintf("{xdp: {interface: %s, mode: generic}}", a.XDP.Interface)
	case a.TCX != nil:
		return fmt.Sprintf("{tcx: {interface: %s, direction: %s}}", a.TCX.Interface, a.TCX.Direction)
	case a.Cgroup != nil:
		return fmt.Sprintf("{cgroup: {path: %s}}", a.Cgroup.Path)
	case a.SkLookup != nil:
		return fmt.Sprintf("{sk_lookup: {netns: %s}}", a.SkLookup.Netns)
	case a.Netfilter != nil:
		return fmt.Sprintf("{netfilter: {family: %s, hook: %s, priority: %d}}", a.Netfilter.Family, a.Netfilter.Hook, a.Netfilter.Priority)
	}
	return "none"
}

// usedMaps lists the maps the chosen programs use.
func usedMaps(obj []byte, progs []loader.Guessed, sizes []loader.MapSetting) []string {
	req := &loader.Request{Object: obj, Maps: sizes, NoTargetCheck: true}
	for _, g := range progs {
		req.Programs = append(req.Programs, g.Program)
	}
	plan, err := loader.Prepare(req)
	if err != nil {
		return nil
	}
	return plan.Maps()
}

// checkTrial is how a privileged trial child refuses what its caller made
// up: the trial must be a signed manifest the root-owned policy allows,
// with the manifest's own object, constants and sizes, and each program
// attached as the manifest says, not at all, or to a dry-run scratch
// target.
func checkTrial(t *dryrun.Trial) error {
	if t.Source.Manifest == "" {
		return refusePrivileged("a trial load with no signed manifest")
	}
	m, obj, err := readManifest(t.Source.Manifest)
	if err != nil {
		return err
	}
	tp, v, err := verifyTrust(m, trustOptions{policyFile: t.Source.Policy, signatures: t.Source.Signatures, signatureDir: t.Source.SignatureDir})
	if err != nil {
		return err
	}
	req := m.Request(obj)
	plan, err := loader.Prepare(&loader.Request{Object: obj, Programs: req.Programs, PinMaps: req.PinMaps, Constants: req.Constants, Maps: req.Maps, NoTargetCheck: true})
	if err != nil {
		return prepareError(m, err)
	}
	if err := tp.CheckPlan(m, v, programTypes(plan), m.PinDir(t.Source.PinRoot), t.Source.PinRoot); err != nil {
		return trustError(m, err)
	}
	if over := t.Capabilities.Minus(tp.Ceiling(v)); over != 0 {
		return refusePrivileged(fmt.Sprintf("a trial load with %s, over its rule's ceiling,", over))
	}
	same := func(a, b any) bool {
		ja, _ := json.Marshal(a)
		jb, _ := json.Marshal(b)
		return bytes.Equal(ja, jb)
	}
	if len(req.Constants) == 0 {
		req.Constants = nil
	}
	if len(t.Constants) == 0 {
		t.Constants = nil
	}
	if !bytes.Equal(obj, t.Object) || !same(req.Constants, t.Constants) || !same(req.Maps, t.Maps) || !same(req.PinMaps, t.PinMaps) {
		return refusePrivileged("a trial load that differs from its signed manifest")
	}
	// Programs are attached as the manifest says or not at all: a privileged
	// dry-run has no private network namespace, so no scratch target.
	for _, p := range t.Programs {
		i := m.ProgramIndex(p.Name)
		if i < 0 {
			return refusePrivileged("a trial load of a program its manifest does not list")
		}
		if !p.Attach.None && !same(p.Attach, m.Programs[i].Attach) {
			return refusePrivileged("a trial attach its manifest does not make")
		}
	}
	return nil
}
