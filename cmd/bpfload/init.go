package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
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
			if err := dryrun.RunTrial(os.Stdin, os.Stdout); err != nil {
				return diag.Wrap(diag.EInternal, err)
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
			f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
			if err != nil {
				return diag.Wrap(diag.EUsage, err)
			}
			if _, err := io.WriteString(f, text); err != nil {
				f.Close()
				return diag.Wrap(diag.EInternal, err)
			}
			return f.Close()
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
	in := &dryrun.Input{Object: obj}
	for _, g := range guessed {
		in.Programs = append(in.Programs, g.Program)
		if g.Placeholder != "" && (g.Attach.Kprobe != nil || g.Attach.Uprobe != nil || g.Attach.Tracepoint != nil) {
			in.PredictOnly = append(in.PredictOnly, g.Name)
		}
	}
	var required []string
	var notes []string
	if trial {
		res, err := dryrun.Run(context.Background(), in)
		if err != nil {
			return "", prepareErrorPlain(err)
		}
		required = res.Required
		for _, b := range res.Blocked {
			notes = append(notes, fmt.Sprintf("program %s is blocked here (%s): %s", b.Program, b.Phase, b.Cause))
		}
		notes = append(notes, res.Notes...)
	} else {
		required = dryrun.Predicted(in)
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
	fmt.Fprintf(&b, "capabilities: [%s]\nprograms:\n", strings.Join(required, ", "))
	for _, g := range guessed {
		fmt.Fprintf(&b, "  - name: %s          # %s, SEC(%q)\n    attach: %s", g.Name, g.Type, g.Section, attachYAML(g.Attach))
		if g.Placeholder != "" {
			fmt.Fprintf(&b, "   # CHANGE-ME: %s", g.Placeholder)
		}
		b.WriteString("\n")
	}
	set, _ := caps.Parse(required)
	b.WriteString("# Granting these capabilities:\n")
	for _, h := range caps.GrantHints(set, "/usr/local/bin/bpfload") {
		fmt.Fprintf(&b, "#   %s\n", h)
	}
	return b.String(), nil
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
