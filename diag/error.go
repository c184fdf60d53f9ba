package diag

import (
	"encoding/json"
	"errors"
	"fmt"
	"github.com/bpfload/bpfload/caps"
	"io"
	"strings"
)

// Error is a failure as the user sees it.
type Error struct {
	Code  Code
	Msg   string   // what failed, one line
	Where string   // file:line, program or path, when known
	Cause string   // why, when known: the capability checked, the non-capability reason
	Fix   []string // what to do, one step per line
	// Detail holds long evidence, such as the verifier log; shown with
	// --verbose and in JSON.
	Detail []string
	// Missing is the capabilities the kernel checked and the manifest did
	// not grant, for EMissingCap.
	Missing caps.Set
	Err     error
}

func (e *Error) Error() string { return e.Code.ID + ": " + e.Msg }

func (e *Error) Unwrap() error { return e.Err }

// New makes an Error with a formatted message.
func New(c Code, format string, args ...any) *Error {
	return &Error{Code: c, Msg: fmt.Sprintf(format, args...)}
}

// Wrap makes an Error around err, with err's text as the message.
func Wrap(c Code, err error) *Error {
	return &Error{Code: c, Msg: Clean(err.Error()), Err: err}
}

// With adds fixes and returns e.
func (e *Error) With(fix ...string) *Error {
	e.Fix = append(e.Fix, fix...)
	return e
}

// At sets where and returns e.
func (e *Error) At(where string) *Error {
	e.Where = where
	return e
}

// ExitStatus is the process exit status for err: its class, or internal.
func ExitStatus(err error) int {
	var de *Error
	if errors.As(err, &de) {
		return int(de.Code.Class)
	}
	return int(ClassInternal)
}

// As returns err as an *Error, wrapping it as internal if it is not one.
func As(err error) *Error {
	var de *Error
	if errors.As(err, &de) {
		return de
	}
	return Wrap(EInternal, err)
}

// Clean removes text from cilium/ebpf that misleads on current kernels:
// its MEMLOCK hint is wrong on 5.11 and later, where memory is charged to
// the cgroup and an EPERM means a missing capability.
func Clean(s string) string {
	for _, junk := range []string{" (MEMLOCK may be too low, consider rlimit.RemoveMemlock)", "(MEMLOCK may be too low, consider rlimit.RemoveMemlock)"} {
		s = strings.ReplaceAll(s, junk, "")
	}
	return s
}

// WriteText prints e for people; verbose adds the detail lines.
func (e *Error) WriteText(w io.Writer, verbose bool) {
	fmt.Fprintf(w, "bpfload: error %s: %s\n", e.Code.ID, e.Msg)
	if e.Where != "" {
		fmt.Fprintf(w, "  where: %s\n", e.Where)
	}
	if e.Cause != "" {
		fmt.Fprintf(w, "  cause: %s\n", e.Cause)
	}
	for i, f := range e.Fix {
		label := "  fix:  "
		if i > 0 {
			label = "        "
		}
		fmt.Fprintf(w, "%s %s\n", label, f)
	}
	switch {
	case verbose && len(e.Detail) > 0:
		fmt.Fprintln(w, "  detail:")
		for _, d := range e.Detail {
			fmt.Fprintf(w, "    %s\n", d)
		}
	case len(e.Detail) > 0:
		fmt.Fprintf(w, "  (%d more lines with --verbose)\n", len(e.Detail))
	}
}

// JSON is the machine-readable form of an Error.
type JSON struct {
	Code    string   `json:"code"`
	Class   string   `json:"class"`
	Title   string   `json:"title"`
	Message string   `json:"message"`
	Where   string   `json:"where,omitempty"`
	Cause   string   `json:"cause,omitempty"`
	Fix     []string `json:"fix,omitempty"`
	Detail  []string `json:"detail,omitempty"`
	Exit    int      `json:"exit_status"`
}

// MarshalJSON renders e as JSON.
func (e *Error) MarshalJSON() ([]byte, error) {
	return json.Marshal(JSON{Code: e.Code.ID, Class: e.Code.Class.String(), Title: e.Code.Title,
		Message: e.Msg, Where: e.Where, Cause: e.Cause, Fix: e.Fix, Detail: e.Detail, Exit: int(e.Code.Class)})
}
