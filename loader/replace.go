package loader

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"golang.org/x/sys/unix"
)

// StagingInfix names the directories --replace stages new pins in, as
// NAME_replacing_RANDOM beside the pin directory.
const StagingInfix = "_replacing_"

// Staging lists the staging directories an interrupted --replace of dir
// left beside it.
func Staging(dir string) []string {
	m, _ := filepath.Glob(filepath.Join(filepath.Dir(dir), filepath.Base(dir)+StagingInfix+"*"))
	return m
}

// ReplaceOutcome says how one program took over from its predecessor.
type ReplaceOutcome string

// Outcomes of a replace, per program.
const (
	// ReplacedAtomic: the old link now runs the new program (LINK_UPDATE);
	// no packet or event saw neither or both.
	ReplacedAtomic ReplaceOutcome = "atomic (link update)"
	// ReplacedOverlap: the kernel cannot update this kind of link, so the
	// new link was attached before the old one was removed; for a moment
	// both programs ran.
	ReplacedOverlap ReplaceOutcome = "not atomic: new link attached, then old link removed (the kernel cannot update this link kind)"
	// ReplacedMoved: the attach target changed, so the new program was
	// attached to the new target and the old link removed.
	ReplacedMoved ReplaceOutcome = "moved: attached to the new target, old link removed"
	// ReplacedNew: nothing was attached under this name before.
	ReplacedNew ReplaceOutcome = "new"
)

// Replaced describes the load being replaced, as its record has it.
type Replaced struct {
	Dir     string            // its pin directory
	Created []string          // the pins and directories it created, in order
	Attach  map[string]string // program name to its attach description
}

// oldLink is a pinned link of the load being replaced.
type oldLink struct {
	link    link.Link
	oldProg *ebpf.Program // the program it ran, to restore on rollback
}

// ReplaceFrom makes Load take over the links of old (pinned as Pin lays
// them out) where the kernel can update a link in place and the program
// attaches exactly where it did. It opens the old pins, which needs no
// capability. Call it before Load, then use PinReplace instead of Pin and
// CommitReplace once the new load is recorded.
func (p *Plan) ReplaceFrom(old *Replaced) error {
	p.old = map[string]*oldLink{}
	p.replaced = old
	for _, pp := range p.programs {
		if x, ok := pp.attacher.(*XDPAttach); ok {
			// One XDP program per interface: a mode change cannot attach
			// beside the old link, nor update it.
			prev := old.Attach[pp.name]
			if strings.HasPrefix(prev, "xdp "+x.Interface) && prev != attachDescription(pp) {
				return fmt.Errorf("%w: program %s changes its XDP mode on %s (%s before): the kernel cannot swap that in place; unload, then load", ErrBadAttach, pp.name, x.Interface, prev)
			}
		}
		if pp.attacher == nil || old.Attach[pp.name] != attachDescription(pp) {
			continue // a changed target is attached anew, not updated
		}
		lpath := filepath.Join(old.Dir, LinksDir, pp.name)
		if _, err := os.Lstat(lpath); errors.Is(err, os.ErrNotExist) {
			continue
		}
		lk, err := link.LoadPinnedLink(lpath, nil)
		if err != nil {
			p.closeOld()
			return fmt.Errorf("open the link to replace: %s: %w", lpath, err)
		}
		prog, err := ebpf.LoadPinnedProgram(filepath.Join(old.Dir, ProgsDir, pp.name), nil)
		if err != nil {
			lk.Close()
			p.closeOld()
			return fmt.Errorf("open the program to replace: %w", err)
		}
		p.old[pp.name] = &oldLink{link: lk, oldProg: prog}
	}
	return nil
}

// attachDescription is how reports and records describe an attach.
func attachDescription(pp plannedProgram) string {
	if pp.attacher == nil {
		return "none"
	}
	return pp.attacher.kind() + " " + pp.attacher.target(pp.spec)
}

func (p *Plan) closeOld() {
	for _, o := range p.old {
		o.link.Close()
		o.oldProg.Close()
	}
	p.old = nil
}

// attachOrUpdate attaches lp, or swaps it into its predecessor's link.
func (p *Plan) attachOrUpdate(pp plannedProgram, lp *LoadedProgram, l *Loaded) (link.Link, error) {
	var old *oldLink
	for _, o := range l.oldLinks {
		if o.program == pp.name {
			old = o.oldLink
		}
	}
	if old != nil {
		err := old.link.Update(lp.prog)
		if err == nil {
			lp.Replace = ReplacedAtomic
			l.restore = append(l.restore, func() error {
				if err := old.link.Update(old.oldProg); err != nil {
					return fmt.Errorf("put program %s back on its old link: %w (the old link now runs the new program)", pp.name, err)
				}
				return nil
			})
			return freshReference(old.link)
		}
		// ENOLINK: the old link's target went away; attach anew.
		if !errors.Is(err, ebpf.ErrNotSupported) && !errors.Is(err, unix.EOPNOTSUPP) && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOLINK) {
			return nil, fmt.Errorf("update the old link: %w", err)
		}
		lp.Replace = ReplacedOverlap
	} else if p.replaced != nil {
		lp.Replace = ReplacedNew
		if prev, ok := p.replaced.Attach[pp.name]; ok && prev != "none" {
			lp.Replace = ReplacedMoved
		}
	}
	return pp.attacher.attach(lp.prog, pp.spec)
}

// freshReference returns a new descriptor for an adopted link: pinning the
// one opened from its old pin would move that pin instead of adding one.
func freshReference(l link.Link) (link.Link, error) {
	fder, ok := l.(interface{ FD() int })
	if !ok {
		return nil, fmt.Errorf("link %T has no descriptor", l)
	}
	fd, err := unix.FcntlInt(uintptr(fder.FD()), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	return link.NewFromFD(fd)
}

// PinReplace pins l into a fresh staging directory beside dir, then
// exchanges it with dir in one rename (RENAME_EXCHANGE), so readers of dir
// see either the old pins or the new ones. The old pins stay, under the
// staging name, until CommitReplace; Rollback before that exchanges back
// and puts updated links back on their old programs.
func (l *Loaded) PinReplace(dir string, opts *PinOptions) error {
	parent := filepath.Dir(dir)
	// A unique name (bpffs refuses dots; manifest names never hold '_').
	staging, err := os.MkdirTemp(parent, filepath.Base(dir)+StagingInfix)
	if err != nil {
		return &StepError{Op: OpPin, Target: parent, Err: err}
	}
	l.created = append(l.created, staging)
	// MkdirTemp makes 0700; the pin directory gets what Pin would give it.
	if err := os.Chmod(staging, 0o755); err != nil {
		return &StepError{Op: OpPin, Target: staging, Err: err}
	}
	if err := opts.apply(staging, true); err != nil {
		return &StepError{Op: OpPin, Target: staging, Err: err}
	}
	if err := l.PinWith(staging, opts); err != nil {
		return err
	}
	if _, err := os.Lstat(dir); errors.Is(err, os.ErrNotExist) {
		if err := os.Rename(staging, dir); err != nil {
			return &StepError{Op: OpPin, Target: dir, Err: err}
		}
		l.rebase(staging, dir)
		return nil
	}
	if err := unix.Renameat2(unix.AT_FDCWD, staging, unix.AT_FDCWD, dir, unix.RENAME_EXCHANGE); err != nil {
		return &StepError{Op: OpPin, Target: dir, Err: fmt.Errorf("exchange %s with %s: %w", staging, dir, err)}
	}
	l.rebase(staging, dir)
	l.exchanged = &exchange{dir: dir, staging: staging}
	return nil
}

type exchange struct{ dir, staging string }

// rebase re-points what was made under from to to.
func (l *Loaded) rebase(from, to string) {
	for i := range l.created {
		l.created[i] = rebase(l.created[i], from, to)
	}
	for _, lp := range l.Programs {
		lp.Pin, lp.LinkPin = rebase(lp.Pin, from, to), rebase(lp.LinkPin, from, to)
	}
	for _, lm := range l.Maps {
		lm.Pin = rebase(lm.Pin, from, to)
	}
}

// undoExchange puts the old pins back where they were, for Rollback.
func (l *Loaded) undoExchange() error {
	x := l.exchanged
	if x == nil {
		return nil
	}
	l.exchanged = nil
	if err := unix.Renameat2(unix.AT_FDCWD, x.staging, unix.AT_FDCWD, x.dir, unix.RENAME_EXCHANGE); err != nil {
		return fmt.Errorf("put the replaced pins back in %s: %w", x.dir, err)
	}
	l.rebase(x.dir, x.staging)
	return nil
}

// CommitReplace removes the replaced load's pins, which PinReplace left
// under the staging name: its links that were not updated in place detach.
// Only what the old record says it created is removed; anything else is
// left and reported.
func (l *Loaded) CommitReplace(old *Replaced) error {
	l.restore = nil
	x := l.exchanged
	l.exchanged = nil
	if x == nil {
		return nil
	}
	var errs []error
	for i := len(old.Created) - 1; i >= 0; i-- {
		p := rebase(old.Created[i], old.Dir, x.staging)
		if !strings.HasPrefix(p, x.staging) {
			continue // not below the old pin directory: not ours to remove
		}
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	if err := os.Remove(x.staging); err != nil && !errors.Is(err, os.ErrNotExist) {
		errs = append(errs, fmt.Errorf("%w (it holds entries bpfload did not create)", err))
	}
	return errors.Join(errs...)
}

func rebase(p, from, to string) string {
	if p == "" {
		return p
	}
	if p == from {
		return to
	}
	if rel, ok := strings.CutPrefix(p, from+"/"); ok {
		return filepath.Join(to, rel)
	}
	return p
}
