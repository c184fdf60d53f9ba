package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"text/tabwriter"

	"github.com/bpfload/bpfload/caps"
	"github.com/bpfload/bpfload/diag"
	"github.com/bpfload/bpfload/dryrun"
	"github.com/bpfload/bpfload/loader"
	"github.com/urfave/cli/v2"
)

// Dry-run exit statuses: results, not errors.
const (
	exitMissing     = 10
	exitSuperfluous = 11
	exitBlocked     = 12
)

// exitStatus ends the run with a status after the output is printed.
type exitStatus int

func (e exitStatus) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

func dryRunFlag() cli.Flag {
	return &cli.BoolFlag{Name: "dry-run", Usage: "find the least capabilities the manifest or object needs, with trial loads in child processes; load nothing"}
}

// dryRunInput builds the dry-run input from a manifest (which need not be
// signed) or a bare object, whose programs all attach as their sections say.
func dryRunInput(c *cli.Context, path string) (*dryrun.Input, string, error) {
	if strings.HasSuffix(path, ".o") {
		if privileged() {
			return nil, "", refusePrivileged("a dry-run of a bare object")
		}
		obj, err := os.ReadFile(path)
		if err != nil {
			return nil, "", diag.Wrap(diag.EObjectRead, err)
		}
		guessed, err := loader.GuessPrograms(obj)
		if err != nil {
			return nil, "", diag.Wrap(diag.EBadObject, err)
		}
		return guessedInput(obj, guessed, nil), "object " + path, nil
	}
	m, obj, err := readManifest(path)
	if err != nil {
		return nil, "", err
	}
	var ceiling caps.Set
	if privileged() {
		// Trials load and attach for real: only what the policy allows.
		tp, v, err := verifyTrust(m, trustOptions{policyFile: c.String("policy"), signatures: c.StringSlice("signature"), signatureDir: c.String("signature-dir")})
		if err != nil {
			return nil, "", err
		}
		plan, err := loader.Prepare(m.Request(obj))
		if err != nil {
			return nil, "", prepareError(m, err)
		}
		if err := tp.CheckPlan(m, v, programTypes(plan), m.PinDir(c.String("pin-root")), c.String("pin-root")); err != nil {
			return nil, "", trustError(m, err)
		}
		ceiling = tp.Ceiling(v)
	}
	req := m.Request(obj)
	abs, _ := filepath.Abs(path)
	src := dryrun.Source{Manifest: abs, Policy: c.String("policy"), Signatures: c.StringSlice("signature"),
		SignatureDir: c.String("signature-dir"), PinRoot: c.String("pin-root")}
	return &dryrun.Input{Object: obj, Programs: req.Programs, PinMaps: req.PinMaps, Constants: req.Constants, Maps: req.Maps,
		Manifest: m.Caps, HasManifest: true, Source: src, Ceiling: ceiling}, "manifest " + path, nil
}

func runDryRun(c *cli.Context, out *outputMode) error {
	if err := setup(c, out, 1, "MANIFEST or OBJECT.o"); err != nil {
		return err
	}
	in, what, err := dryRunInput(c, c.Args().First())
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	res, err := dryrun.Run(ctx, in)
	if err != nil {
		if ctx.Err() != nil {
			return diag.New(diag.EInternal, "dry-run interrupted; its trial processes and scratch cgroup are gone")
		}
		return prepareErrorPlain(err)
	}
	if out.format == "json" {
		if err := writeJSON(c.App.Writer, res); err != nil {
			return err
		}
	} else {
		writeDryRun(c.App.Writer, res, what)
	}
	switch {
	case len(res.Blocked) > 0:
		return exitStatus(exitBlocked)
	case len(res.Missing) > 0:
		return exitStatus(exitMissing)
	case len(res.Superfluous) > 0:
		return exitStatus(exitSuperfluous)
	}
	return nil
}

// prepareErrorPlain maps a dry-run's failure, which has no manifest line.
func prepareErrorPlain(err error) error { return diag.Wrap(prepareCode(err), err) }

// guessedInput is a dry-run of programs guessed from ELF sections; those
// whose tracing target is a placeholder attach in prediction only.
func guessedInput(obj []byte, progs []loader.Guessed, sizes []loader.MapSetting) *dryrun.Input {
	in := &dryrun.Input{Object: obj, Maps: sizes}
	for _, g := range progs {
		in.Programs = append(in.Programs, g.Program)
		if g.Placeholder != "" && (g.Attach.Kprobe != nil || g.Attach.Uprobe != nil || g.Attach.Tracepoint != nil) {
			in.PredictOnly = append(in.PredictOnly, g.Name)
		}
	}
	return in
}

func writeDryRun(w io.Writer, r *dryrun.Result, what string) {
	fmt.Fprintf(w, "dry-run of %s on Linux %s: %d trial loads\n", what, r.Kernel, r.Trials)
	env := r.Environment
	fmt.Fprintf(w, "host: lockdown %s, kernel.unprivileged_bpf_disabled=%s, kernel.perf_event_paranoid=%s, seccomp %s, kernel BTF %v\n\n",
		firstSet(env.Lockdown, "unknown"), firstSet(env.UnprivilegedBPFDisabled, "?"), firstSet(env.PerfEventParanoid, "?"), firstSet(env.Seccomp, "?"), env.KernelBTF)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PROGRAM\tTYPE\tATTACH\tCAPABILITY\tPHASE\tWHY")
	for _, p := range r.Programs {
		if len(p.Capabilities) == 0 {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t\t\n", p.Name, p.Type, p.Attach, "none")
		}
		for i, n := range p.Capabilities {
			name, typ, att := p.Name, p.Type, p.Attach
			if i > 0 {
				name, typ, att = "", "", ""
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", name, typ, att, n.Capability, n.Phase, n.Reason)
		}
	}
	tw.Flush()
	fmt.Fprintln(w)
	for _, b := range r.Blocked {
		fmt.Fprintf(w, "BLOCKED %s (%s): %s\n  no capability fixes this.\n", b.Program, b.Phase, b.Cause)
	}
	set, _ := caps.Parse(r.Required)
	fmt.Fprintf(w, "least-privilege set: %s\n", list(r.Required))
	unconfirmed, _ := caps.Parse(r.Unconfirmed)
	if proven := set.Minus(unconfirmed); proven != 0 {
		fmt.Fprintf(w, "  proven: %s (a trial without each one failed)\n", list(proven.Names()))
	}
	if unconfirmed != 0 {
		fmt.Fprintf(w, "  predicted, not tried: %s (see the notes)\n", list(r.Unconfirmed))
	}
	if r.ManifestCaps != nil {
		fmt.Fprintf(w, "the manifest asks for: %s\n", list(r.ManifestCaps))
		if len(r.Missing) > 0 {
			fmt.Fprintf(w, "  missing: %s\n", list(r.Missing))
		}
		if len(r.Superfluous) > 0 {
			fmt.Fprintf(w, "  superfluous: %s\n", list(r.Superfluous))
		}
	}
	for _, n := range r.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
	self, _ := os.Executable()
	if self == "" || strings.HasPrefix(self, "/tmp") {
		self = "/usr/local/bin/bpfload"
	}
	fmt.Fprintln(w, "\nwhat to do:")
	fmt.Fprintf(w, "  manifest:   capabilities: [%s]\n", strings.Join(r.Required, ", "))
	if set == 0 {
		fmt.Fprintln(w, "  nothing to grant: the load needs no capability")
		return
	}
	for _, h := range caps.GrantHints(set, filepath.Clean(self)) {
		fmt.Fprintf(w, "  %s\n", h)
	}
}

func firstSet(s, otherwise string) string {
	if s == "" {
		return otherwise
	}
	return s
}
