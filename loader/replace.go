package loader

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"golang.org/x/sys/unix"
)

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
	// ReplacedNew: nothing was attached under this name before.
	ReplacedNew ReplaceOutcome = "new"
)

// oldLink is a pinned link of the load being replaced.
type oldLink struct {
	link    link.Link
	oldProg *ebpf.Program // the program it ran, to restore on rollback
}

// ReplaceFrom makes Load take over the links pinned in oldDir (as laid out
// by Pin) instead of attaching anew where the kernel can update a link in
// place. It opens the old pins, which needs no capability. Call it before
// Load, then use PinReplace instead of Pin.
func (p *Plan) ReplaceFrom(oldDir string) error {
	p.old = map[string]*oldLink{}
	p.replacing = true
	for _, pp := range p.programs {
		if pp.attacher == nil {
			continue
		}
		lpath := filepath.Join(oldDir, LinksDir, pp.name)
		if _, err := os.Lstat(lpath); errors.Is(err, os.ErrNotExist) {
			continue
		}
		lk, err := link.LoadPinnedLink(lpath, nil)
		if err != nil {
			p.closeOld()
			return fmt.Errorf("open the link to replace: %s: %w", lpath, err)
		}
		prog, err := ebpf.LoadPinnedProgram(filepath.Join(oldDir, ProgsDir, pp.name), nil)
		if err != nil {
			lk.Close()
			p.closeOld()
			return fmt.Errorf("open the program to replace: %w", err)
		}
		p.old[pp.name] = &oldLink{link: lk, oldProg: prog}
	}
	return nil
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
	if o := old; o != nil {
		err := o.link.Update(lp.prog)
		if err == nil {
			lp.Replace = ReplacedAtomic
			l.restore = append(l.restore, func() { _ = o.link.Update(o.oldProg) })
			return o.link, nil
		}
		if !errors.Is(err, ebpf.ErrNotSupported) && !errors.Is(err, unix.EOPNOTSUPP) && !errors.Is(err, unix.EINVAL) {
			return nil, fmt.Errorf("update the old link: %w", err)
		}
		lp.Replace = ReplacedOverlap
	} else if p.replacing {
		lp.Replace = ReplacedNew
	}
	return pp.attacher.attach(lp.prog, pp.spec)
}

// PinReplace pins l into a staging directory beside dir, then exchanges it
// with dir in one rename (RENAME_EXCHANGE), so readers of dir see either
// the old pins or the new ones. The old pins are then removed: links that
// were not updated in place detach. On error the caller calls Rollback,
// which also puts updated links back on their old programs.
func (l *Loaded) PinReplace(dir string, opts *PinOptions) error {
	// bpffs refuses names with a dot; manifest names never hold '_'.
	staging := filepath.Join(filepath.Dir(dir), filepath.Base(dir)+"_replacing")
	if err := removeTree(staging); err != nil {
		return &StepError{Op: OpPin, Target: staging, Err: fmt.Errorf("remove a stale staging directory: %w", err)}
	}
	if err := l.PinWith(staging, opts); err != nil {
		return err
	}
	if _, err := os.Lstat(dir); errors.Is(err, os.ErrNotExist) {
		if err := os.Rename(staging, dir); err != nil {
			return &StepError{Op: OpPin, Target: dir, Err: err}
		}
	} else if err := unix.Renameat2(unix.AT_FDCWD, staging, unix.AT_FDCWD, dir, unix.RENAME_EXCHANGE); err != nil {
		return &StepError{Op: OpPin, Target: dir, Err: fmt.Errorf("exchange %s with %s: %w", staging, dir, err)}
	}
	// Committed: the new pins are in place. Re-point what was created.
	for i, p := range l.created {
		if rel, err := filepath.Rel(staging, p); err == nil {
			l.created[i] = filepath.Join(dir, rel)
		}
	}
	for _, lp := range l.Programs {
		lp.Pin = rebase(lp.Pin, staging, dir)
		lp.LinkPin = rebase(lp.LinkPin, staging, dir)
	}
	for _, lm := range l.Maps {
		lm.Pin = rebase(lm.Pin, staging, dir)
	}
	l.restore = nil
	// The old tree is now at staging; removing it detaches old links.
	l.leftover = removeTree(staging)
	return nil
}

// Leftover reports pins of the replaced load that could not be removed.
func (l *Loaded) Leftover() error { return l.leftover }

func rebase(p, from, to string) string {
	if p == "" {
		return p
	}
	if rel, err := filepath.Rel(from, p); err == nil {
		return filepath.Join(to, rel)
	}
	return p
}

// removeTree removes a pin tree, depth first; a missing tree is no error.
func removeTree(dir string) error {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var errs []error
	for _, e := range ents {
		p := filepath.Join(dir, e.Name())
		if e.IsDir() {
			errs = append(errs, removeTree(p))
		} else if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	if err := os.Remove(dir); err != nil && !errors.Is(err, os.ErrNotExist) {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
