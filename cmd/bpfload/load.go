package main

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/bpfload/bpfload/caps"
	"github.com/bpfload/bpfload/diag"
	"github.com/bpfload/bpfload/loader"
	"github.com/bpfload/bpfload/policy"
	"github.com/bpfload/bpfload/state"
	"github.com/urfave/cli/v2"
)

func loadCommand(out *outputMode) *cli.Command {
	return &cli.Command{
		Name:      "load",
		Usage:     "verify a manifest, then load, attach and pin its programs",
		ArgsUsage: "MANIFEST",
		Description: `Checks the manifest and its object's digest, raises exactly the manifest's
capabilities on every thread, creates the maps, loads and attaches the
programs, drops every capability, verifies from /proc that no thread holds
one, and pins links, programs and maps below the pin directory
(pin: in the manifest, else PIN-ROOT/NAME). Any failure undoes everything
this run created.`,
		Flags: append([]cli.Flag{
			dryRunFlag(),
			&cli.BoolFlag{Name: "replace", Usage: "replace what is loaded under the manifest's name, swapping links atomically where the kernel can"},
			&cli.BoolFlag{Name: "allow-unsigned", Usage: "development only: skip signatures and the trust policy (loudly warned)"},
			&cli.IntFlag{Name: "jobs", Aliases: []string{"j"}, Value: 0, Usage: "programs verified at once; 0 means one per CPU"},
			&cli.DurationFlag{Name: "lock-timeout", Value: 30 * time.Second, Usage: "how long to wait for another bpfload working below the same pin root"},
		}, signatureFlags()...),
		Action: func(c *cli.Context) error {
			if c.Bool("dry-run") {
				return runDryRun(c, out)
			}
			if err := setup(c, out, 1, "MANIFEST"); err != nil {
				return err
			}
			rep, err := runLoad(loadOptions{
				manifest:      c.Args().First(),
				stateDir:      c.String("state-dir"),
				pinRoot:       c.String("pin-root"),
				replace:       c.Bool("replace"),
				allowUnsigned: c.Bool("allow-unsigned"),
				jobs:          c.Int("jobs"),
				lockTimeout:   c.Duration("lock-timeout"),
				trust: trustOptions{policyFile: c.String("policy"), signatures: c.StringSlice("signature"),
					signatureDir: c.String("signature-dir")},
				warn: func(s string) { fmt.Fprintln(c.App.ErrWriter, "bpfload: warning: "+s) },
			})
			if err != nil {
				return err
			}
			if out.format == "json" {
				return writeJSON(c.App.Writer, rep)
			}
			rep.writeText(c.App.Writer)
			return nil
		},
	}
}

type loadOptions struct {
	manifest      string
	stateDir      string
	pinRoot       string
	replace       bool
	allowUnsigned bool
	jobs          int
	lockTimeout   time.Duration
	warn          func(string)
	trust         trustOptions
	// reserve stays permitted (never effective) through the load, for exec.
	reserve caps.Set
	// passMaps are map names whose descriptors are kept open, for exec.
	passMaps []string
}

// readManifest reads and checks a manifest and its object, mapping each
// failure to its code.
func readManifest(path string) (*policy.Manifest, []byte, error) {
	m, err := policy.ReadManifest(path)
	if err != nil {
		return nil, nil, manifestError(err)
	}
	obj, err := m.ReadObject()
	switch {
	case errors.Is(err, policy.ErrDigestMismatch):
		return nil, nil, diag.Wrap(diag.EDigest, err).At(m.Where("object.sha256")).With(
			"if the object was rebuilt on purpose, put its digest in the manifest (sha256sum OBJECT) and sign the manifest again")
	case err != nil:
		return nil, nil, diag.Wrap(diag.EObjectRead, err).At(m.Where("object.path"))
	}
	return m, obj, nil
}

func manifestError(err error) error {
	var fe *policy.FieldError
	switch {
	case errors.As(err, &fe) && errors.Is(err, policy.ErrSyntax):
		de := diag.Wrap(diag.EManifestSyntax, err)
		if fe.Source != "" {
			de.Detail = []string{fe.Source}
		}
		return de.With("see the manifest reference in README.md")
	case errors.As(err, &fe):
		return diag.Wrap(diag.EManifestInvalid, err).With("see the manifest reference in README.md")
	}
	return diag.Wrap(diag.EManifestRead, err)
}

// prepareError maps loader.Prepare's failures to codes, with the manifest
// line of the program at fault.
func prepareError(m *policy.Manifest, err error) error {
	de := diag.Wrap(prepareCode(err), err)
	var pe *loader.PrepareError
	var ce *loader.ConstantError
	var me *loader.MapError
	switch {
	case errors.As(err, &pe) && pe.Program != "":
		if i := m.ProgramIndex(pe.Program); i >= 0 {
			de.Where = m.Where(fmt.Sprintf("programs[%d].attach", i))
		}
	case errors.As(err, &ce):
		de.Where = m.Where("constants." + ce.Name)
	case errors.As(err, &me):
		de.Where = m.Where("maps")
		for i, mp := range m.Maps {
			if mp.Name == me.Map {
				de.Where = m.Where(fmt.Sprintf("maps[%d]", i))
			}
		}
		if errors.Is(err, loader.ErrUnsizedMap) {
			de.Fix = append(de.Fix, fmt.Sprintf("size it in the manifest: maps: [{name: %s, maxEntries: N}] (and valueSize where the object leaves it open)", me.Map))
		}
	}
	return de
}

// prepareCode is the failure code of an error from loader.Prepare.
func prepareCode(err error) diag.Code {
	switch {
	case errors.Is(err, loader.ErrBadObject):
		return diag.EBadObject
	case errors.Is(err, loader.ErrNoProgram), errors.Is(err, loader.ErrNoMap):
		return diag.ENotInObject
	case errors.Is(err, loader.ErrAttachMismatch):
		return diag.EAttachMismatch
	case errors.Is(err, loader.ErrAttachTarget):
		return diag.EAttachTarget
	case errors.Is(err, loader.ErrUnsizedMap):
		return diag.EMapCreate
	case errors.Is(err, loader.ErrBadAttach), errors.Is(err, loader.ErrConstant), errors.Is(err, loader.ErrMapSetting):
		return diag.EManifestInvalid
	}
	return diag.EInternal
}

func runLoad(o loadOptions) (rep *loadReport, err error) {
	// Signals are held until the run finishes or rolls back, so an
	// interrupt never leaves a half-made load behind.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sigs)
	interrupted := func() error {
		select {
		case s := <-sigs:
			return diag.New(diag.EInternal, "interrupted by %s; everything this run created was removed", s)
		default:
			return nil
		}
	}

	m, obj, err := readManifest(o.manifest)
	if err != nil {
		return nil, err
	}
	st, err := state.Open(o.stateDir, true)
	if err == nil {
		err = st.CheckWritable()
	}
	if err != nil {
		return nil, diag.Wrap(diag.EState, err).With("pass --state-dir DIR with a directory this user owns and only it can write")
	}
	rec, err := st.Get(m.Name)
	if err != nil {
		return nil, diag.Wrap(diag.EState, err)
	}
	var tp *policy.TrustPolicy
	var verified *policy.Verified
	if o.allowUnsigned && privileged() {
		return nil, refusePrivileged("--allow-unsigned")
	}
	if o.allowUnsigned {
		o.warn("--allow-unsigned: loading " + m.Path + " WITHOUT checking signatures or the trust policy; never use this in production")
	} else {
		hw := int64(0)
		if rec != nil {
			hw = rec.HighWater
		}
		o.trust.highWater = hw
		if tp, verified, err = verifyTrust(m, o.trust); err != nil {
			return nil, err
		}
	}

	plan, err := loader.Prepare(m.Request(obj))
	if err != nil {
		return nil, prepareError(m, err)
	}
	for _, name := range o.passMaps {
		if !slices.Contains(plan.Maps(), name) {
			return nil, diag.New(diag.EUsage, "--pass-fd %s: the load creates no map of that name (it creates: %s)", name, strings.Join(plan.Maps(), ", ")).With(
				"name a map the manifest's programs use or its maps: lists")
		}
	}
	pinDir := m.PinDir(o.pinRoot)
	if tp != nil {
		if err := tp.CheckPlan(m, verified, programTypes(plan), pinDir, o.pinRoot); err != nil {
			return nil, trustError(m, err)
		}
	}
	if err := checkPermitted(m, o.reserve); err != nil {
		return nil, err
	}

	// Two locks: the state directory (one record per name, wherever it is
	// pinned) and the pin directory's parent.
	unlockState, err := loader.Lock(st.Path, o.lockTimeout)
	if err != nil {
		return nil, lockError(err, st.Path)
	}
	defer unlockState()
	unlock, err := lockPinParent(pinDir, o.lockTimeout)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if err := checkPinnable(m, filepath.Dir(pinDir)); err != nil {
		return nil, err
	}
	// Re-read and re-check under the locks: another run may have loaded
	// meanwhile, perhaps a higher version.
	if rec, err = st.Get(m.Name); err != nil {
		return nil, diag.Wrap(diag.EState, err)
	}
	if rec != nil && m.Version < rec.HighWater && !o.allowUnsigned {
		return nil, diag.New(diag.EStale, "version %d of %s is below version %d, loaded meanwhile: a rollback", m.Version, m.Name, rec.HighWater).At(m.Where("version"))
	}
	if rec != nil && rec.Loaded != nil && rec.Loaded.PinDir != pinDir {
		return nil, diag.New(diag.EAlreadyLoaded, "%s is already loaded, pinned in %s, not in %s", m.Name, rec.Loaded.PinDir, pinDir).At(pinDir).With(
			"unload it first: bpfload unload " + m.Name + " (a name is loaded once, in one pin directory)")
	}
	if left := loader.Staging(pinDir); len(left) > 0 {
		return nil, diag.New(diag.EForeignPath, "an interrupted --replace left %s beside %s; it may hold pins still attached", strings.Join(left, ", "), pinDir).At(pinDir).With(
			"inspect it (ls -R " + left[0] + "), then remove it by hand: rm -r " + left[0])
	}
	_, statErr := os.Lstat(pinDir)
	exists := statErr == nil
	if exists && !o.replace {
		return nil, diag.New(diag.EAlreadyLoaded, "%s is already loaded: %s exists", m.Name, pinDir).At(pinDir).With(
			"unload it first: bpfload unload "+m.Name,
			"or replace it: bpfload load --replace "+m.Path)
	}
	replacing := o.replace && exists
	var replaced *loader.Replaced
	if replacing {
		if rec == nil || rec.Loaded == nil || rec.Loaded.PinDir != pinDir {
			return nil, diag.New(diag.EForeignPath, "%s exists but %s has no record of loading %s there: refusing to replace what bpfload did not create", pinDir, o.stateDir, m.Name).At(pinDir)
		}
		replaced = &loader.Replaced{Dir: pinDir, Created: rec.Loaded.Created, Attach: map[string]string{}}
		for _, p := range rec.Loaded.Programs {
			replaced.Attach[p.Name] = p.Attach
		}
		if err := plan.ReplaceFrom(replaced); err != nil {
			if errors.Is(err, loader.ErrBadAttach) {
				return nil, diag.Wrap(diag.EAttach, err).At(pinDir)
			}
			return nil, diag.Wrap(diag.EPinDenied, err).At(pinDir)
		}
	}
	if err := interrupted(); err != nil {
		return nil, err
	}

	// Privileged section: exactly the manifest's capabilities.
	raised, err := caps.RaiseObserved(m.Caps, o.reserve)
	if err != nil {
		if _, dropErr := caps.DropObserved(o.reserve); dropErr != nil {
			return nil, diag.Wrap(diag.ECapsLeft, dropErr)
		}
		de := diag.Wrap(diag.ENotPermitted, fmt.Errorf("raise %s: %w", m.Caps, err))
		de.Cause = "the kernel refused to make these capabilities effective, inheritable and ambient: check the bounding set, the inheritable set and securebits (no-cap-ambient-raise) of the process that started bpfload"
		return nil, de
	}
	during := raised[0]
	during.TID = len(raised) // count, for the report
	jobs := o.jobs
	if jobs <= 0 {
		jobs = runtime.NumCPU()
	}
	loaded, loadErr := plan.Load(&loader.LoadOptions{Jobs: jobs})
	dropped, dropErr := caps.DropObserved(o.reserve)
	// End of the privileged section.

	if dropErr != nil {
		if loaded != nil {
			_ = loaded.Rollback()
		}
		return nil, diag.Wrap(diag.ECapsLeft, dropErr).With("everything this run loaded was removed")
	}
	if loadErr != nil {
		return nil, diag.Explain(loadErr, diag.Context{Granted: m.Caps, Manifest: m.Path, Where: func(p string) string {
			return m.Where(fmt.Sprintf("programs[%d]", m.ProgramIndex(p)))
		}})
	}
	defer func() {
		if err != nil {
			if rbErr := loaded.Rollback(); rbErr != nil {
				de := diag.As(err)
				de.Fix = append(de.Fix, "rollback could not remove everything: "+rbErr.Error())
			}
		}
	}()
	after, err := checkAfterDrop(dropped, o.reserve)
	if err != nil {
		return nil, err
	}
	if err := interrupted(); err != nil {
		return nil, err
	}
	pin := loaded.PinWith
	if replacing {
		pin = loaded.PinReplace
	}
	if err := pin(pinDir, m.PinOpts); err != nil {
		return nil, diag.Explain(err, diag.Context{Granted: m.Caps, Manifest: m.Path})
	}
	var passed map[string]int
	if len(o.passMaps) > 0 {
		if passed, err = loaded.DupMaps(o.passMaps); err != nil {
			return nil, diag.Wrap(diag.EInternal, err)
		}
	}
	if err := interrupted(); err != nil {
		return nil, err
	}

	sum := sha256.Sum256(m.Raw)
	objSum := m.Object.SHA256
	if rec == nil {
		rec = &state.Record{Name: m.Name}
	}
	abs, _ := filepath.Abs(m.Path)
	rec.HighWater = max(rec.HighWater, m.Version)
	rec.Loaded = &state.Load{
		Version: m.Version, Manifest: abs, ManifestSHA256: hex.EncodeToString(sum[:]), ObjectSHA256: objSum,
		PinDir: pinDir, Created: loaded.Created(), Capabilities: m.Caps.Names(), LoadedAt: time.Now().UTC(),
	}
	for _, p := range loaded.Programs {
		rec.Loaded.Programs = append(rec.Loaded.Programs, state.Program{Name: p.Name, Type: p.Type, ID: p.ID, Tag: p.Tag,
			Attach: p.Attach, Pin: p.Pin, LinkPin: p.LinkPin, Replace: string(p.Replace)})
	}
	for _, mp := range loaded.Maps {
		rec.Loaded.Maps = append(rec.Loaded.Maps, state.Map{Name: mp.Name, Type: mp.Type, ID: mp.ID, Pin: mp.Pin})
	}
	if err := st.Put(rec); err != nil {
		return nil, diag.Wrap(diag.EState, err)
	}
	if replaced != nil {
		// Recorded: now the old pins may go (their links detach).
		if err := loaded.CommitReplace(replaced); err != nil {
			o.warn("some pins of the replaced load could not be removed: " + err.Error())
		}
	}
	rep = newLoadReport(m, rec.Loaded, during, after, o.reserve)
	rep.PassedFDs = passed
	loaded.Close()
	return rep, nil
}

// checkPermitted stops before any bpf() call when bpfload cannot raise a
// capability the manifest lists.
func checkPermitted(m *policy.Manifest, reserve caps.Set) error {
	missing, err := caps.Missing(m.Caps | reserve)
	if err != nil {
		return diag.Wrap(diag.EInternal, err)
	}
	if missing == 0 {
		return nil
	}
	self, _ := os.Executable()
	if self == "" {
		self = "/usr/local/bin/bpfload"
	}
	de := diag.New(diag.ENotPermitted, "bpfload may not raise %s: it is not in bpfload's permitted set", missing).At(m.Where("capabilities"))
	de.Cause = "a process can raise only capabilities in its permitted set (and, in a container, its bounding set); bpfload never runs setuid"
	if extra := missing.Minus(m.Caps); extra != 0 {
		de.Cause += fmt.Sprintf("; exec needs %s too, to clear the bounding set and switch user before it runs the workload", extra)
	}
	de.Fix = caps.GrantHints(m.Caps|reserve, self)
	return de
}

// lockPinParent creates the pin directory's parent if needed and locks it,
// so two bpfload runs below one pin root take turns.
func lockPinParent(pinDir string, timeout time.Duration) (func(), error) {
	if err := loader.CheckBPFFS(pinDir); err != nil {
		return nil, diag.Wrap(diag.ENotBPFFS, err).At(pinDir).With("choose a pin path on bpffs with pin: or --pin-root")
	}
	if err := noSymlinks(pinDir); err != nil {
		return nil, diag.Wrap(diag.ENotBPFFS, err).At(pinDir).With("give the real path, without symlinks")
	}
	parent := filepath.Dir(pinDir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		de := diag.Wrap(diag.EPinDenied, err).At(parent)
		return nil, de.With(fmt.Sprintf("create it for this user: mkdir -p %s && chown USER %s", parent, parent))
	}
	unlock, err := loader.Lock(parent, timeout)
	if err != nil {
		return nil, lockError(err, parent)
	}
	return unlock, nil
}

// checkAfterDrop fails loudly if any thread, as read from /proc after the
// drop, still holds a capability in any of E, P, I, A.
func checkAfterDrop(threads []caps.Thread, reserve caps.Set) (caps.Thread, error) {
	if len(threads) == 0 {
		return caps.Thread{}, diag.New(diag.ECapsLeft, "no thread could be read back after the drop")
	}
	for _, t := range threads {
		if left := t.Effective | t.Permitted.Minus(reserve) | t.Inheritable | t.Ambient; left != 0 {
			return t, diag.New(diag.ECapsLeft, "thread %d still holds %s after the drop", t.TID, left).With("report this as a bug: nothing was left loaded")
		}
	}
	t := threads[0]
	t.TID = len(threads)
	return t, nil
}

// noSymlinks refuses a path any existing component of which is a symlink,
// so pins land where the path says.
func noSymlinks(path string) error {
	p := filepath.Clean(path)
	for p != "/" && p != "." {
		fi, err := os.Lstat(p)
		if err == nil && fi.Mode()&os.ModeSymlink != 0 {
			return fmt.Errorf("pin path %s passes through the symlink %s", path, p)
		}
		p = filepath.Dir(p)
	}
	return nil
}

// checkPinnable finds, before any capability is raised, what would make
// pinning fail after the programs are loaded: pins are made with no
// capability, so the parent must be writable by this user as such, and
// owner: can only name this user or one of its groups.
func checkPinnable(m *policy.Manifest, parent string) error {
	fi, err := os.Stat(parent)
	if err != nil {
		return diag.Wrap(diag.EPinDenied, err).At(parent)
	}
	st, _ := fi.Sys().(*syscall.Stat_t)
	if st != nil {
		mode := fi.Mode().Perm()
		uid, gid := uint32(os.Geteuid()), uint32(os.Getegid())
		inGroup := func(g uint32) bool {
			if g == gid {
				return true
			}
			groups, _ := os.Getgroups()
			return slices.Contains(groups, int(g))
		}
		ok := (st.Uid == uid && mode&0o300 == 0o300) || (inGroup(st.Gid) && mode&0o030 == 0o030) || mode&0o003 == 0o003
		if !ok {
			return diag.New(diag.EPinDenied, "%s is not writable by uid %d without capabilities, and pins are made after every capability is dropped", parent, uid).At(parent).With(
				fmt.Sprintf("give this user the directory: chown %d %s, or pick one it owns with --pin-root", uid, parent))
		}
	}
	if o := m.PinOpts; o != nil {
		if o.UID >= 0 && o.UID != os.Geteuid() {
			return diag.New(diag.EPinDenied, "owner: uid %d is not this user (%d): pins are made with no capability, so they can only be chowned to this user", o.UID, os.Geteuid()).At(m.Where("owner")).With(
				"set owner: to \":GROUP\" of a group this user is in, or chown the pins after loading")
		}
		if o.GID >= 0 && o.GID != os.Getegid() {
			groups, _ := os.Getgroups()
			if !slices.Contains(groups, o.GID) {
				return diag.New(diag.EPinDenied, "owner: gid %d is not a group of this user: pins are made with no capability, so their group can only be one this user is in", o.GID).At(m.Where("owner"))
			}
		}
	}
	return nil
}

// lockError tells a lock another bpfload holds from a directory this one
// cannot open.
func lockError(err error, dir string) error {
	if errors.Is(err, loader.ErrLocked) {
		return diag.Wrap(diag.ELocked, err).At(dir).With("wait for the other bpfload to finish, or raise --lock-timeout")
	}
	return diag.Wrap(diag.EPinDenied, err).At(dir)
}
