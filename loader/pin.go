package loader

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
)

// Pin layout below a manifest's pin directory.
const (
	ProgsDir = "progs"
	MapsDir  = "maps"
	LinksDir = "links"
)

// Pin pins every link, program and map of l below dir, creating dir and
// its progs/, maps/ and links/ subdirectories. It needs no capability,
// only write permission on the bpffs directory. Pinning into an existing
// path fails; on error the caller calls Rollback, which removes every pin
// and directory this run created.
//
//	if err := loaded.Pin("/sys/fs/bpf/bpfload/opensnoop"); err != nil {
//		loaded.Rollback()
//	}
func (l *Loaded) Pin(dir string) error {
	return l.PinWith(dir, nil)
}

// PinOptions set the owner and mode of pins. A nil *PinOptions, a zero
// Mode or a negative UID or GID keep the kernel's defaults (the caller's
// user, mode 0600 for pins).
type PinOptions struct {
	Mode     os.FileMode // for pins; directories also get x where they get r
	UID, GID int
}

func (o *PinOptions) apply(path string, dir bool) error {
	if o == nil {
		return nil
	}
	if o.Mode != 0 {
		m := o.Mode.Perm()
		if dir {
			m |= (m & 0o444) >> 2 // r implies x on directories
		}
		if err := os.Chmod(path, m); err != nil {
			return err
		}
	}
	if o.UID >= 0 || o.GID >= 0 {
		if err := os.Lchown(path, o.UID, o.GID); err != nil {
			return fmt.Errorf("chown: %w", err)
		}
	}
	return nil
}

// PinWith is Pin with the owner and mode of opts.
func (l *Loaded) PinWith(dir string, opts *PinOptions) error {
	l.pinOpts = opts
	if err := CheckBPFFS(dir); err != nil {
		return &StepError{Op: OpPin, Target: dir, Err: err}
	}
	if err := l.mkdirAll(dir); err != nil {
		return &StepError{Op: OpPin, Target: dir, Err: err}
	}
	sub := func(name string) (string, error) {
		p := filepath.Join(dir, name)
		return p, l.mkdirAll(p)
	}
	for _, lm := range l.Maps {
		if !lm.toPin {
			continue
		}
		d, err := sub(MapsDir)
		if err != nil {
			return &StepError{Op: OpPin, Map: lm.Name, Target: dir, Err: err}
		}
		path := filepath.Join(d, lm.Name)
		if err := l.pinOne(path, lm.m.Pin); err != nil {
			return &StepError{Op: OpPin, Map: lm.Name, Target: path, Err: err}
		}
		lm.Pin = path
	}
	for _, lp := range l.Programs {
		d, err := sub(ProgsDir)
		if err != nil {
			return &StepError{Op: OpPin, Program: lp.Name, Target: dir, Err: err}
		}
		path := filepath.Join(d, lp.Name)
		if err := l.pinOne(path, lp.prog.Pin); err != nil {
			return &StepError{Op: OpPin, Program: lp.Name, Target: path, Err: err}
		}
		lp.Pin = path
		if lp.link == nil {
			continue
		}
		d, err = sub(LinksDir)
		if err != nil {
			return &StepError{Op: OpPin, Program: lp.Name, Target: dir, Err: err}
		}
		path = filepath.Join(d, lp.Name)
		if err := l.pinOne(path, lp.link.Pin); err != nil {
			return &StepError{Op: OpPin, Program: lp.Name, Target: path, Err: fmt.Errorf("pin %s link: %w", lp.AttachKind, err)}
		}
		lp.LinkPin = path
	}
	l.pinned = true
	return nil
}

// Created lists the pins and directories this run created, in order.
func (l *Loaded) Created() []string { return append([]string(nil), l.created...) }

func (l *Loaded) pinOne(path string, pin func(string) error) error {
	if _, err := os.Lstat(path); err == nil {
		return fmt.Errorf("%s: %w", path, os.ErrExist)
	}
	if err := pin(path); err != nil {
		return err
	}
	l.created = append(l.created, path)
	return l.pinOpts.apply(path, false)
}

func (l *Loaded) mkdirAll(dir string) error {
	if fi, err := os.Stat(dir); err == nil {
		if !fi.IsDir() {
			return fmt.Errorf("%s exists and is not a directory", dir)
		}
		return nil
	}
	if err := l.mkdirAll(filepath.Dir(dir)); err != nil {
		return err
	}
	if err := os.Mkdir(dir, 0o755); err != nil {
		return err
	}
	l.created = append(l.created, dir)
	return l.pinOpts.apply(dir, true)
}

// Rollback detaches and closes everything Load created and removes the pins
// and directories created by Pin, newest first; after a PinReplace it
// first puts the replaced pins back and their links on their old programs. It is safe to call after a
// partial Load or Pin, and more than once. It returns the removals that
// failed, if any, so the caller can name what is left behind.
func (l *Loaded) Rollback() error {
	var errs []error
	if err := l.undoExchange(); err != nil {
		errs = append(errs, err)
	}
	for i := len(l.restore) - 1; i >= 0; i-- {
		if err := l.restore[i](); err != nil {
			errs = append(errs, err)
		}
	}
	l.restore = nil
	for i := len(l.created) - 1; i >= 0; i-- {
		if err := os.Remove(l.created[i]); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	l.created = nil
	l.Close()
	l.Programs, l.Maps = nil, nil
	return errors.Join(errs...)
}

// CheckBPFFS checks that path, or its nearest existing ancestor, lies on a
// bpffs mount; pins can live nowhere else.
func CheckBPFFS(path string) error {
	p := filepath.Clean(path)
	for {
		var st unix.Statfs_t
		err := unix.Statfs(p, &st)
		if err == nil {
			if st.Type != unix.BPF_FS_MAGIC {
				return fmt.Errorf("%w: %s (mount one: mount -t bpf bpf %s)", ErrNotBPFFS, path, bpffsMountHint(path))
			}
			return nil
		}
		if !errors.Is(err, unix.ENOENT) || p == "/" {
			return fmt.Errorf("%s: %w", p, err)
		}
		p = filepath.Dir(p)
	}
}

func bpffsMountHint(path string) string {
	if rel, err := filepath.Rel("/sys/fs/bpf", path); err == nil && !filepath.IsAbs(rel) && rel != ".." && (len(rel) < 3 || rel[:3] != "../") {
		return "/sys/fs/bpf"
	}
	return filepath.Dir(path)
}

// Lock takes an exclusive lock on directory dir (flock on the directory,
// which bpffs supports), waiting up to timeout. Two bpfload processes
// working below the same pin root thus take turns. The returned function
// releases the lock.
func Lock(dir string, timeout time.Duration) (func(), error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(timeout)
	for {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			return func() { f.Close() }, nil
		}
		if !errors.Is(err, unix.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", dir, err)
		}
		if time.Now().After(deadline) {
			f.Close()
			return nil, fmt.Errorf("%w on %s (waited %s)", ErrLocked, dir, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
