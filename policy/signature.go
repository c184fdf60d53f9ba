package policy

import (
	"errors"

	"github.com/bpfload/bpfload/loader"
)

// Signature sentinels, for errors.Is.
var (
	// ErrUnsigned: no signature file was found for the manifest.
	ErrUnsigned = errors.New("manifest is not signed")
	// ErrSignature: a signature file is malformed or does not verify.
	ErrSignature = errors.New("bad signature")
	// ErrUntrusted: a signature verifies but no trusted signer vouches
	// for its key (unknown, revoked, expired or wrong-principal
	// certificate).
	ErrUntrusted = errors.New("untrusted signer")
	// ErrThreshold: fewer distinct trusted signers than the rule needs.
	ErrThreshold = errors.New("not enough signatures")
	// ErrNoRule: no rule of the trust policy matches the manifest's name.
	ErrNoRule = errors.New("no rule matches")
	// ErrOutsideRule: the manifest asks for more than its rule allows.
	ErrOutsideRule = errors.New("manifest exceeds its rule")
	// ErrStale: expired, too old for the rule, below minVersion, or below
	// the version already loaded (a rollback).
	ErrStale = errors.New("manifest is stale")
)

var (
	errSigFormat    = &sentinel{"signature file is malformed", ErrSignature}
	errSigInvalid   = &sentinel{"signature does not verify", ErrSignature}
	errSigUntrusted = ErrUntrusted
)

// sentinel is a more precise error that still matches its parent.
type sentinel struct {
	msg    string
	parent error
}

func (s *sentinel) Error() string { return s.msg }
func (s *sentinel) Unwrap() error { return s.parent }

func knownProgramTypes() []string { return loader.ProgramTypeNames() }
