package caps

import (
	"errors"
	"fmt"
	"os"

	"kernel.org/pub/linux/libs/security/libcap/cap"
)

// ErrNotPermitted is wrapped when a capability is asked for that is not in
// the process's permitted set, so no capset can ever raise it.
var ErrNotPermitted = errors.New("capability not in the permitted set")

// Permitted returns the permitted set shared by all threads.
func Permitted() (Set, error) {
	threads, err := Observe()
	if err != nil {
		return 0, err
	}
	t, err := Uniform(threads)
	return t.Permitted, err
}

// Missing returns the capabilities of want that this process can never
// raise because they are not in its permitted set.
func Missing(want Set) (Set, error) {
	p, err := Permitted()
	if err != nil {
		return 0, err
	}
	return want.Minus(p), nil
}

// Raise makes want the exact effective, permitted, inheritable and ambient
// set of every thread. Capabilities outside want leave the permitted set
// for good. If CAP_SETPCAP is effective or permitted beforehand, the
// bounding set is shrunk to want as well, so nothing this process executes
// can ever regain more.
//
// Raise checks that want is a subset of the permitted set before changing
// anything, and reads every thread back afterwards (see Verify).
//
//	if err := caps.Raise(caps.Of(cap.BPF, cap.PERFMON)); err != nil { ... }
func Raise(want Set) error { return RaiseReserving(want, 0) }

// RaiseReserving is Raise, but the capabilities in reserve stay in the
// permitted set, never effective, inheritable or ambient, for a later step
// (bpfload exec keeps CAP_SETPCAP to clear the bounding set before it runs
// the workload). Read back as Raise does.
func RaiseReserving(want, reserve Set) error {
	_, err := RaiseObserved(want, reserve)
	return err
}

// RaiseObserved is RaiseReserving, returning every thread's sets as read
// back from /proc after the change.
func RaiseObserved(want, reserve Set) ([]Thread, error) {
	threads, err := Observe()
	if err != nil {
		return nil, err
	}
	before, err := Uniform(threads)
	if err != nil {
		return nil, err
	}
	if miss := (want | reserve).Minus(before.Permitted); miss != 0 {
		return nil, fmt.Errorf("%w: %s", ErrNotPermitted, miss)
	}
	reserve = reserve.Minus(want)
	setpcap := Of(cap.SETPCAP)
	if before.Permitted.Has(setpcap) {
		// Dropping bounding bits needs CAP_SETPCAP effective first.
		if !before.Effective.Has(setpcap) {
			if err := setEPI(before.Effective|setpcap, before.Permitted, before.Inheritable); err != nil {
				return nil, fmt.Errorf("raise CAP_SETPCAP to shrink the bounding set: %w", err)
			}
		}
		if drop := before.Bounding.Minus(want | reserve); drop != 0 {
			if err := cap.DropBound(drop.Values()...); err != nil {
				return nil, fmt.Errorf("shrink bounding set to %s: %w", want|reserve, err)
			}
		}
	}
	if err := cap.ResetAmbient(); err != nil {
		return nil, fmt.Errorf("clear ambient set: %w", err)
	}
	if err := setEPI(want, want|reserve, want); err != nil {
		return nil, fmt.Errorf("set effective/permitted/inheritable to %s: %w", want, err)
	}
	if want != 0 {
		if err := cap.SetAmbient(true, want.Values()...); err != nil {
			return nil, fmt.Errorf("raise ambient set %s: %w", want, err)
		}
	}
	return verifySets(want, want|reserve, want, want)
}

// DropAll clears the effective, permitted, inheritable and ambient sets of
// every thread and verifies the result. The bounding set is left alone.
func DropAll() error { return DropReserving(0) }

// DropReserving is DropAll, but reserve stays in the permitted set only.
func DropReserving(reserve Set) error {
	_, err := DropObserved(reserve)
	return err
}

// DropObserved is DropReserving, returning every thread's sets as read
// back from /proc after the drop.
func DropObserved(reserve Set) ([]Thread, error) {
	if err := cap.ResetAmbient(); err != nil {
		return nil, fmt.Errorf("clear ambient set: %w", err)
	}
	if err := setEPI(0, reserve, 0); err != nil {
		return nil, fmt.Errorf("clear capability sets: %w", err)
	}
	return verifySets(0, reserve, 0, 0)
}

// Verify reads every thread from /proc and fails unless each one holds
// exactly want as its effective, permitted, inheritable and ambient set.
func Verify(want Set) error { return VerifySets(want, want, want, want) }

// VerifySets reads every thread from /proc and fails unless each one holds
// exactly these effective, permitted, inheritable and ambient sets.
func VerifySets(e, p, i, a Set) error {
	_, err := verifySets(e, p, i, a)
	return err
}

func verifySets(e, p, i, a Set) ([]Thread, error) {
	threads, err := Observe()
	if err != nil {
		return nil, err
	}
	for _, t := range threads {
		if t.Effective != e || t.Permitted != p || t.Inheritable != i || t.Ambient != a {
			return threads, fmt.Errorf("%w: pid %d thread %d holds %s, want E=%s P=%s I=%s A=%s", ErrThreadMismatch, os.Getpid(), t.TID, describe(t), e, p, i, a)
		}
	}
	return threads, nil
}

func setEPI(e, p, i Set) error {
	c := cap.NewSet()
	for _, f := range []struct {
		flag cap.Flag
		set  Set
	}{{cap.Effective, e}, {cap.Permitted, p}, {cap.Inheritable, i}} {
		if vals := f.set.Values(); len(vals) > 0 {
			if err := c.SetFlag(f.flag, true, vals...); err != nil {
				return err
			}
		}
	}
	return c.SetProc()
}
