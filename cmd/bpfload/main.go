// Command bpfload loads eBPF programs with the least privilege: it reads a
// signed manifest, raises exactly the capabilities it lists on every
// thread, loads and attaches the programs, drops every capability, and
// pins the result in bpffs.
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/bpfload/bpfload/diag"
	"github.com/urfave/cli/v2"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// Defaults; the flags and environment variables below override them.
const (
	defaultPolicy   = "/etc/bpfload/policy.yaml"
	defaultStateDir = "/var/lib/bpfload"
	defaultPinRoot  = "/sys/fs/bpf/bpfload"
)

func main() {
	os.Exit(run(os.Args, os.Stdout, os.Stderr))
}

// run executes one command line and returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	out := &outputMode{format: "text"}
	app := newApp(stdout, stderr, out)
	err := app.Run(args)
	if err == nil {
		return 0
	}
	// Actions return *diag.Error; anything else comes from the command
	// line parser (a missing required flag, an unknown command).
	var status exitStatus
	if errors.As(err, &status) {
		return int(status)
	}
	var de *diag.Error
	if !errors.As(err, &de) {
		de = diag.New(diag.EUsage, "%s", err.Error()).With("see bpfload --help")
	}
	if out.format == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(map[string]any{"error": de})
	} else {
		de.WriteText(stderr, out.verbose)
	}
	return diag.ExitStatus(de)
}

// outputMode is filled in by the command that runs, so errors print in
// the format it asked for.
type outputMode struct {
	format  string
	verbose bool
}

func commonFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "policy", Value: defaultPolicy, EnvVars: []string{"BPFLOAD_POLICY"}, Usage: "trust policy `FILE`"},
		&cli.StringFlag{Name: "state-dir", Value: defaultStateDir, EnvVars: []string{"BPFLOAD_STATE_DIR"}, Usage: "`DIR` recording what bpfload loaded where"},
		&cli.StringFlag{Name: "pin-root", Value: defaultPinRoot, EnvVars: []string{"BPFLOAD_PIN_ROOT"}, Usage: "bpffs `DIR` below which manifests without pin: are pinned, as DIR/NAME"},
		&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Value: "text", Usage: "output format: text or json"},
		&cli.BoolFlag{Name: "verbose", Usage: "print the full verifier log of a rejected program, and more detail"},
	}
}

func newApp(stdout, stderr io.Writer, out *outputMode) *cli.App {
	app := &cli.App{
		Name:    "bpfload",
		Usage:   "load eBPF programs from signed manifests with exactly the capabilities they need",
		Version: version,
		Writer:  stdout, ErrWriter: stderr,
		HideHelpCommand: true,
		Suggest:         true,
		Description: `bpfload reads a signed manifest that names an eBPF object by digest, the
programs and where they attach, and the exact capabilities the load needs.
It raises those capabilities on every thread, loads and attaches, drops
every capability, then pins the programs, links and maps in bpffs so they
outlive it.

bpfload --dry-run MANIFEST|OBJECT.o finds the least-privilege capability
set with trial loads in child processes, and explains every refusal.

Exit status: 0 success, 1 internal, 2 usage, 3 manifest/object/policy,
4 permission, 5 verifier or map, 6 attach, 7 state (already loaded, lock,
pins); for --dry-run, 10 capabilities missing from the manifest,
11 superfluous ones, 12 a program no capability lets load or attach.
Every error carries a stable code such as BPFLOAD-E031.`,
		Commands: []*cli.Command{loadCommand(out), unloadCommand(out), listCommand(out), statusCommand(out),
			verifyCommand(out), signCommand(out), initCommand(out), execCommand(out), trialCommand()},
		ArgsUsage: "[--dry-run MANIFEST|OBJECT.o]",
		Flags:     append(append([]cli.Flag{dryRunFlag()}, signatureFlags()...), commonFlags()...),
		Action: func(c *cli.Context) error {
			if c.Bool("dry-run") {
				return runDryRun(c, out)
			}
			if c.NArg() > 0 {
				return usageError(c, fmt.Sprintf("unknown command %q", c.Args().First()))
			}
			return cli.ShowAppHelp(c)
		},
		OnUsageError: func(c *cli.Context, err error, _ bool) error {
			return usageError(c, err.Error())
		},
		ExitErrHandler: func(*cli.Context, error) {}, // run() prints and exits
	}
	for _, c := range app.Commands {
		c.OnUsageError = app.OnUsageError
		if !c.Hidden {
			c.Flags = append(c.Flags, commonFlags()...)
		}
	}
	return app
}

func usageError(c *cli.Context, msg string) error {
	hint := "bpfload --help"
	if c != nil && c.Command != nil && c.Command.Name != "" {
		hint = "bpfload " + c.Command.Name + " --help"
	}
	return diag.New(diag.EUsage, "%s", msg).With("see " + hint)
}

// setup reads the common flags into out and checks them.
func setup(c *cli.Context, out *outputMode, nargs int, argName string) error {
	out.format, out.verbose = c.String("output"), c.Bool("verbose")
	if out.format != "text" && out.format != "json" {
		f := out.format
		out.format = "text"
		return usageError(c, fmt.Sprintf("--output %q: use text or json", f))
	}
	if c.NArg() != nargs {
		return usageError(c, fmt.Sprintf("%s takes exactly %d argument (%s), got %d: %s", c.Command.Name, nargs, argName, c.NArg(), strings.Join(c.Args().Slice(), " ")))
	}
	return nil
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
