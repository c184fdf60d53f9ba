package main

import (
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"os/user"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/bpfload/bpfload/caps"
	"github.com/bpfload/bpfload/diag"
	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"
)

func execCommand(out *outputMode) *cli.Command {
	return &cli.Command{
		Name:      "exec",
		Usage:     "load a manifest, then run a workload in this process with no capability at all (a container entrypoint)",
		ArgsUsage: "MANIFEST -- CMD [ARGS...]",
		Description: `Does what load does, then clears every capability set, the bounding and
ambient sets included, sets no_new_privs, optionally switches to --user,
and execs CMD in the same process: it stays PID 1 in a container, and
signals and exit status are the workload's own. The workload starts with
CapInh, CapPrm, CapEff, CapBnd and CapAmb all zero.

--pass-fd MAP hands a loaded map to the workload as an inherited
descriptor, announced as BPFLOAD_FD_<MAP>=N (upper case, '-' as '_'), so
an unprivileged workload reads its eBPF data. No other descriptor above
stderr is inherited, not even one bpfload's own parent left open. exec needs CAP_SETPCAP to clear the bounding set (and
CAP_SETUID/CAP_SETGID with --user), held in the permitted set only,
never effective, while the programs load. The load report goes to stderr.`,
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "user", Usage: "run the workload as `UID[:GID]` (numbers or names)"},
			&cli.StringSliceFlag{Name: "pass-fd", Usage: "hand loaded `MAP` to the workload as a descriptor (repeatable)"},
			&cli.BoolFlag{Name: "allow-unsigned", Usage: "development only: skip signatures and the trust policy (loudly warned)"},
			&cli.BoolFlag{Name: "replace", Usage: "replace what is loaded under the manifest's name (a restarted container)"},
			&cli.IntFlag{Name: "jobs", Aliases: []string{"j"}, Usage: "programs verified at once; 0 means one per CPU"},
			&cli.DurationFlag{Name: "lock-timeout", Value: 30 * time.Second, Usage: "how long to wait for another bpfload working below the same pin root"},
		}, signatureFlags()...),
		Action: func(c *cli.Context) error {
			out.format, out.verbose = c.String("output"), c.Bool("verbose")
			if c.NArg() < 2 {
				return usageError(c, "exec takes MANIFEST -- CMD [ARGS...]")
			}
			args := c.Args().Slice()
			manifest, argv := args[0], args[1:]
			if argv[0] == "--" {
				argv = argv[1:]
			}
			if len(argv) == 0 {
				return usageError(c, "exec needs a command after --")
			}
			path, err := exec.LookPath(argv[0])
			if err != nil {
				return diag.Wrap(diag.EUsage, err).With("give the workload's path, or put it on PATH")
			}
			u, err := parseUser(c.String("user"))
			if err != nil {
				return diag.Wrap(diag.EUsage, err)
			}
			bounding, err := boundingSet()
			if err != nil {
				return diag.Wrap(diag.EInternal, err)
			}
			passMaps := c.StringSlice("pass-fd")
			rep, err := runLoad(loadOptions{
				manifest: manifest, stateDir: c.String("state-dir"), pinRoot: c.String("pin-root"),
				allowUnsigned: c.Bool("allow-unsigned"), replace: c.Bool("replace"), jobs: c.Int("jobs"), lockTimeout: c.Duration("lock-timeout"),
				warn: func(s string) { fmt.Fprintln(c.App.ErrWriter, "bpfload: warning: "+s) },
				trust: trustOptions{policyFile: c.String("policy"), signatures: c.StringSlice("signature"),
					signatureDir: c.String("signature-dir")},
				reserve:  caps.ExecReserve(u, bounding),
				passMaps: passMaps,
			})
			if err != nil {
				return err
			}
			if out.format == "json" {
				_ = writeJSON(c.App.ErrWriter, rep)
			} else {
				rep.writeText(c.App.ErrWriter)
			}
			env := os.Environ()
			names := make([]string, 0, len(rep.PassedFDs))
			for n := range rep.PassedFDs {
				names = append(names, n)
			}
			sort.Strings(names)
			for _, n := range names {
				env = append(env, fmt.Sprintf("BPFLOAD_FD_%s=%d", strings.ToUpper(strings.ReplaceAll(n, "-", "_")), rep.PassedFDs[n]))
			}
			if err := closeInherited(rep.PassedFDs); err != nil {
				return diag.Wrap(diag.EInternal, err)
			}
			if err := caps.ClearForExec(u); err != nil {
				return diag.Wrap(diag.ECapsLeft, err).With("the programs stay loaded and pinned; bpfload unload " + rep.Name + " removes them")
			}
			err = syscall.Exec(path, argv, env)
			return diag.Wrap(diag.EInternal, fmt.Errorf("exec %s: %w", path, err)).With("the programs stay loaded and pinned; bpfload unload " + rep.Name + " removes them")
		},
	}
}

// parseUser reads UID[:GID], numbers or names; "" keeps the current user.
func parseUser(s string) (caps.User, error) {
	u := caps.User{UID: -1, GID: -1}
	if s == "" {
		return u, nil
	}
	name, group, hasGroup := strings.Cut(s, ":")
	if id, err := strconv.Atoi(name); err == nil && id >= 0 {
		u.UID = id
		if pw, err := user.LookupId(name); err == nil && !hasGroup {
			u.GID, _ = strconv.Atoi(pw.Gid)
		}
	} else {
		pw, err := user.Lookup(name)
		if err != nil {
			return u, fmt.Errorf("--user %s: %w", s, err)
		}
		u.UID, _ = strconv.Atoi(pw.Uid)
		if !hasGroup {
			u.GID, _ = strconv.Atoi(pw.Gid)
		}
	}
	if hasGroup {
		if id, err := strconv.Atoi(group); err == nil && id >= 0 {
			u.GID = id
		} else {
			g, err := user.LookupGroup(group)
			if err != nil {
				return u, fmt.Errorf("--user %s: %w", s, err)
			}
			u.GID, _ = strconv.Atoi(g.Gid)
		}
	}
	if u.GID < 0 {
		u.GID = u.UID // a numeric uid unknown to /etc/passwd: its own group
	}
	return u, nil
}

func boundingSet() (caps.Set, error) {
	threads, err := caps.Observe()
	if err != nil {
		return 0, err
	}
	t, err := caps.Uniform(threads)
	if err != nil && !errors.Is(err, caps.ErrThreadMismatch) {
		return 0, err
	}
	return t.Bounding, nil
}

// closeInherited marks every descriptor above stderr close-on-exec, then
// clears the mark on the passed maps: the workload inherits nothing else,
// not even what bpfload's own parent left open.
func closeInherited(passed map[string]int) error {
	const closeRangeCloexec = 1 << 2 // CLOSE_RANGE_CLOEXEC, Linux 5.11
	if err := unix.CloseRange(3, math.MaxUint32, closeRangeCloexec); err != nil {
		return fmt.Errorf("mark descriptors close-on-exec: %w", err)
	}
	for name, fd := range passed {
		if _, err := unix.FcntlInt(uintptr(fd), unix.F_SETFD, 0); err != nil {
			return fmt.Errorf("pass map %s: %w", name, err)
		}
	}
	return nil
}
