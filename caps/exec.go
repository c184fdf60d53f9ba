package caps

import (
	"errors"
	"fmt"

	"kernel.org/pub/linux/libs/security/libcap/cap"
)

// prSetNoNewPrivs is PR_SET_NO_NEW_PRIVS from linux/prctl.h.
const prSetNoNewPrivs = 38

// ErrNeedSetpcap is wrapped when the bounding set cannot be cleared.
var ErrNeedSetpcap = errors.New("clearing the bounding set needs CAP_SETPCAP")

// User is who a workload runs as; a negative UID or GID keeps the current.
type User struct {
	UID, GID int
	Groups   []int
}

// ExecReserve is what ClearForExec needs in the permitted set: CAP_SETPCAP
// while the bounding set is not empty, and CAP_SETUID and CAP_SETGID to
// switch user.
func ExecReserve(u User, bounding Set) Set {
	var r Set
	if bounding != 0 {
		r |= Of(cap.SETPCAP)
	}
	if u.UID >= 0 {
		r |= Of(cap.SETUID)
	}
	if u.GID >= 0 {
		r |= Of(cap.SETGID)
	}
	return r
}

// ClearForExec leaves every thread with nothing a program it executes
// could use: it empties the bounding set (with CAP_SETPCAP), switches to u,
// clears the effective, permitted, inheritable and ambient sets and sets
// no_new_privs, then reads every thread back.
func ClearForExec(u User) error {
	threads, err := Observe()
	if err != nil {
		return err
	}
	t, err := Uniform(threads)
	if err != nil {
		return err
	}
	need := ExecReserve(u, t.Bounding)
	if miss := need.Minus(t.Permitted); miss != 0 {
		if miss.Has(Of(cap.SETPCAP)) {
			return fmt.Errorf("%w (the bounding set is %s)", ErrNeedSetpcap, t.Bounding)
		}
		return fmt.Errorf("%w: %s, to switch user", ErrNotPermitted, miss)
	}
	if err := setEPI(t.Permitted, t.Permitted, 0); err != nil {
		return fmt.Errorf("make %s effective: %w", t.Permitted, err)
	}
	if t.Bounding != 0 {
		if err := cap.DropBound(t.Bounding.Values()...); err != nil {
			return fmt.Errorf("clear bounding set: %w", err)
		}
	}
	if u.GID >= 0 {
		if err := cap.SetGroups(u.GID, u.Groups...); err != nil {
			return fmt.Errorf("switch to gid %d: %w", u.GID, err)
		}
	}
	if u.UID >= 0 {
		if err := cap.SetUID(u.UID); err != nil {
			return fmt.Errorf("switch to uid %d: %w", u.UID, err)
		}
	}
	if err := DropAll(); err != nil {
		return err
	}
	if _, err := cap.Prctlw(prSetNoNewPrivs, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("set no_new_privs: %w", err)
	}
	threads, err = Observe()
	if err != nil {
		return err
	}
	for _, t := range threads {
		if t.Effective|t.Permitted|t.Inheritable|t.Ambient|t.Bounding != 0 || !t.NoNewPrivs {
			return fmt.Errorf("%w: thread %d after clearing: %s bounding=%s no_new_privs=%v", ErrThreadMismatch, t.TID, describe(t), t.Bounding, t.NoNewPrivs)
		}
	}
	return nil
}
