package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/bpfload/bpfload/diag"
	"github.com/bpfload/bpfload/loader"
	"github.com/bpfload/bpfload/policy"
	"github.com/bpfload/bpfload/state"
	"github.com/urfave/cli/v2"
)

func unloadCommand(out *outputMode) *cli.Command {
	return &cli.Command{
		Name:      "unload",
		Usage:     "remove what load pinned for a manifest; its links detach",
		ArgsUsage: "NAME|MANIFEST",
		Description: `Removes exactly the pins and directories that load recorded in the state
directory, newest first, with no capability. Unpinning the last reference
detaches links and frees programs and maps. Paths that bpfload did not
create are never removed.`,
		Action: func(c *cli.Context) error {
			if err := setup(c, out, 1, "NAME or MANIFEST"); err != nil {
				return err
			}
			res, err := runUnload(c.Args().First(), c.String("state-dir"), c.String("pin-root"))
			if err != nil {
				return err
			}
			if out.format == "json" {
				return writeJSON(c.App.Writer, res)
			}
			fmt.Fprintf(c.App.Writer, "unloaded %s: removed %d pins and directories from %s\n", res.Name, len(res.Removed), res.PinDir)
			for _, k := range res.Kept {
				fmt.Fprintf(c.App.ErrWriter, "bpfload: warning: kept %s: it holds entries bpfload did not create\n", k)
			}
			return nil
		},
	}
}

type unloadResult struct {
	Name    string   `json:"name"`
	PinDir  string   `json:"pin_dir"`
	Removed []string `json:"removed"`
	Kept    []string `json:"kept"`
}

// nameArg accepts a manifest name, or a manifest file whose name it reads.
func nameArg(arg string) (string, error) {
	if strings.ContainsAny(arg, "/.") {
		if _, err := os.Stat(arg); err == nil {
			m, err := policy.ReadManifest(arg)
			if err != nil {
				return "", manifestError(err)
			}
			return m.Name, nil
		}
	}
	if !policy.ValidName(arg) {
		return "", diag.New(diag.EUsage, "%q is neither a manifest file nor a manifest name ([a-z0-9-]{1,63})", arg)
	}
	return arg, nil
}

func runUnload(arg, stateDir, pinRoot string) (*unloadResult, error) {
	name, err := nameArg(arg)
	if err != nil {
		return nil, err
	}
	st, err := state.Open(stateDir, false)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, diag.Wrap(diag.EState, err)
	}
	var rec *state.Record
	if st != nil {
		if rec, err = st.Get(name); err != nil {
			return nil, diag.Wrap(diag.EState, err)
		}
	}
	if st != nil {
		unlockState, err := loader.Lock(st.Path, 30*time.Second)
		if err != nil {
			return nil, lockError(err, st.Path)
		}
		defer unlockState()
		if rec, err = st.Get(name); err != nil {
			return nil, diag.Wrap(diag.EState, err)
		}
	}
	if rec == nil || rec.Loaded == nil {
		guess := filepath.Join(pinRoot, name)
		if _, err := os.Lstat(guess); err == nil {
			return nil, diag.New(diag.EForeignPath, "%s exists but %s has no record of loading %s: refusing to remove what it did not create", guess, stateDir, name).At(guess).With(
				"if another tool or another --state-dir made it, unload it there; otherwise remove it by hand: rm -r " + guess)
		}
		return nil, diag.New(diag.ENotLoaded, "%s is not loaded (no record in %s)", name, stateDir).With("see what is loaded: bpfload list")
	}
	l := rec.Loaded
	for _, p := range l.Created {
		if p != l.PinDir && !strings.HasPrefix(p, l.PinDir+"/") {
			return nil, diag.New(diag.EForeignPath, "the record for %s lists %s, outside its pin directory %s: refusing to unload", name, p, l.PinDir).At(st.Path)
		}
	}
	if left := loader.Staging(l.PinDir); len(left) > 0 {
		return nil, diag.New(diag.EForeignPath, "an interrupted --replace left %s beside %s; it may hold pins still attached", strings.Join(left, ", "), l.PinDir).At(l.PinDir).With(
			"inspect it (ls -R " + left[0] + "), then remove it by hand: rm -r " + left[0] + ", and unload again")
	}
	if err := loader.CheckBPFFS(l.PinDir); err != nil {
		return nil, diag.Wrap(diag.ENotBPFFS, fmt.Errorf("refusing to remove %s: %w", l.PinDir, err)).With("mount the bpffs it was loaded on, then unload again")
	}
	unlock, err := loader.Lock(filepath.Dir(l.PinDir), 30*time.Second)
	switch {
	case errors.Is(err, loader.ErrLocked):
		return nil, diag.Wrap(diag.ELocked, err)
	case errors.Is(err, os.ErrNotExist):
		// The pins are gone already; only the record remains.
	case err != nil:
		return nil, diag.Wrap(diag.EPinDenied, err)
	default:
		defer unlock()
	}
	res := &unloadResult{Name: name, PinDir: l.PinDir, Removed: []string{}, Kept: []string{}}
	for i := len(l.Created) - 1; i >= 0; i-- {
		p := l.Created[i]
		err := os.Remove(p)
		switch {
		case err == nil:
			res.Removed = append(res.Removed, p)
		case errors.Is(err, os.ErrNotExist):
		case errors.Is(err, errNotEmpty):
			res.Kept = append(res.Kept, p)
		case errors.Is(err, os.ErrPermission):
			return nil, diag.Wrap(diag.EPinDenied, err).At(p).With("run unload as the user that loaded it, or give this user write access to " + filepath.Dir(p))
		default:
			return nil, diag.Wrap(diag.EInternal, err).At(p)
		}
	}
	rec.Loaded = nil
	if err := st.Put(rec); err != nil {
		return nil, diag.Wrap(diag.EState, err)
	}
	return res, nil
}
