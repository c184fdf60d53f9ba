package loader

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinels wrapped by the errors of this package, for errors.Is.
var (
	ErrBadObject       = errors.New("object is not a usable eBPF ELF file")
	ErrNoProgram       = errors.New("program not found in object")
	ErrNoMap           = errors.New("map not found in object")
	ErrAttachMismatch  = errors.New("attach kind does not fit the program type")
	ErrBadAttach       = errors.New("invalid attach request")
	ErrAttachTarget    = errors.New("attach target not usable")
	ErrAlreadyLoaded   = errors.New("already loaded")
	ErrNotBPFFS        = errors.New("not on a bpffs mount")
	ErrLocked          = errors.New("another bpfload holds the lock")
	ErrReplaceNotFound = errors.New("nothing loaded to replace")
)

// Op names the step of a load that failed.
type Op string

// The steps of a load, as reported in StepError.
const (
	OpMapCreate   Op = "map create"
	OpProgLoad    Op = "program load"
	OpAttach      Op = "attach"
	OpPin         Op = "pin"
	OpMapPopulate Op = "map populate"
)

// StepError says which program or map failed at which step. The kernel's
// error (often a syscall.Errno) is wrapped, and for program loads the
// verifier log is kept.
type StepError struct {
	Op          Op
	Program     string // program name, when a program failed
	ProgramType string // bpftool-style type name of that program
	Map         string // map name, when a map failed
	MapType     string
	Section     string // ELF section of that program
	AttachKind  string // manifest attach kind, for OpAttach
	Target      string // attach target or pin path, human-readable
	VerifierLog []string
	Err         error
}

func (e *StepError) Error() string {
	subject := ""
	switch {
	case e.Program != "":
		subject = "program " + e.Program
	case e.Map != "":
		subject = "map " + e.Map
	}
	op := string(e.Op)
	if e.AttachKind != "" {
		op = fmt.Sprintf("attach %s", e.AttachKind)
	}
	if e.Target != "" {
		op += " " + e.Target
	}
	// cilium/ebpf names the program or map itself; say it once.
	inner := e.Err.Error()
	if subject != "" {
		inner = strings.TrimPrefix(inner, subject+": ")
	}
	if subject == "" {
		return fmt.Sprintf("%s: %s", op, inner)
	}
	return fmt.Sprintf("%s: %s: %s", subject, op, inner)
}

func (e *StepError) Unwrap() error { return e.Err }

// PrepareError is a Prepare failure about one program.
type PrepareError struct {
	Program string
	Err     error
}

func (e *PrepareError) Error() string { return fmt.Sprintf("program %s: %v", e.Program, e.Err) }

func (e *PrepareError) Unwrap() error { return e.Err }
