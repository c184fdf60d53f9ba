package main

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/bpfload/bpfload/diag"
	"github.com/bpfload/bpfload/loader"
	"github.com/bpfload/bpfload/policy"
	"github.com/bpfload/bpfload/state"
	"github.com/urfave/cli/v2"
)

// trustOptions are the flags that locate signatures.
type trustOptions struct {
	policyFile   string
	signatures   []string
	signatureDir string
	highWater    int64
}

func signatureFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringSliceFlag{Name: "signature", Usage: "signature `FILE` to check (repeatable); default: MANIFEST.sig, MANIFEST.N.sig, MANIFEST.sigstore.json, MANIFEST.N.sigstore.json"},
		&cli.StringFlag{Name: "signature-dir", Usage: "take the signature files named after the manifest from `DIR` instead of the manifest's directory"},
	}
}

// readPolicy reads the trust policy with its failure code.
func readPolicy(file string) (*policy.TrustPolicy, error) {
	p, err := policy.ReadTrustPolicy(file, privileged())
	if err == nil {
		return p, nil
	}
	de := diag.Wrap(diag.EPolicy, err).At(file)
	switch {
	case errors.Is(err, os.ErrNotExist):
		de.Msg = fmt.Sprintf("trust policy %s does not exist", file)
		de.Fix = append(de.Fix, "write one (see README.md, Trust policy) or pass --policy FILE / BPFLOAD_POLICY")
	case errors.Is(err, policy.ErrUnsafeFile):
		de.Fix = append(de.Fix, "the policy must be owned by root or this user, and writable only by its owner")
	default:
		de.Fix = append(de.Fix, "see README.md, Trust policy")
	}
	return nil, de
}

// verifyTrust checks m's signatures and rule, mapping failures to codes.
func verifyTrust(m *policy.Manifest, o trustOptions) (*policy.TrustPolicy, *policy.Verified, error) {
	// An unsigned manifest is told as such, whatever the policy.
	if len(o.signatures) == 0 {
		found, err := policy.FindSignatures(m.Path, o.signatureDir)
		if err == nil && len(found) == 0 {
			return nil, nil, trustError(m, fmt.Errorf("%w: no signature found for %s (looked for %s.sig and %s.sigstore.json)", policy.ErrUnsigned, m.Path, m.Path, m.Path))
		}
	}
	tp, err := readPolicy(o.policyFile)
	if err != nil {
		return nil, nil, err
	}
	v, err := tp.Verify(m, policy.VerifyOptions{Signatures: o.signatures, SignatureDir: o.signatureDir, HighWater: o.highWater})
	if err != nil {
		return nil, nil, trustError(m, err)
	}
	return tp, v, nil
}

func trustError(m *policy.Manifest, err error) error {
	code := diag.EInternal
	var fix []string
	switch {
	case errors.Is(err, policy.ErrUnsigned):
		code = diag.EUnsigned
		fix = []string{"sign it: bpfload sign --key KEY " + m.Path + " (or ssh-keygen -Y sign -n bpfload -f KEY, or cosign sign-blob; see README.md, Signing)",
			"for development only: bpfload load --allow-unsigned " + m.Path}
	case errors.Is(err, policy.ErrSignature) && strings.Contains(err.Error(), "namespace"):
		code = diag.EBadSignature
		fix = []string{"sign with the bpfload namespace: ssh-keygen -Y sign -n bpfload -f KEY " + m.Path + ", or bpfload sign"}
	case errors.Is(err, policy.ErrSignature):
		code = diag.EBadSignature
		fix = []string{"the manifest or its signature changed after signing: sign the manifest again, or restore the signed bytes"}
	case errors.Is(err, policy.ErrUntrusted) && strings.Contains(err.Error(), "certificate"):
		code = diag.EUntrusted
		fix = []string{"get a certificate from a CA the policy lists (sshCA), valid now, for one of its principals"}
	case errors.Is(err, policy.ErrUntrusted):
		code = diag.EUntrusted
		fix = []string{"sign with a key the trust policy lists under signers:, or add the key there (never a revoked one)"}
	case errors.Is(err, policy.ErrThreshold):
		code = diag.EThreshold
		fix = []string{"add signatures from other listed signers as MANIFEST.2.sig, MANIFEST.3.sig, ... (bpfload sign --out)"}
	case errors.Is(err, policy.ErrNoRule):
		code = diag.ENoRule
	case errors.Is(err, policy.ErrOutsideRule):
		code = diag.EOutsideRule
		fix = []string{"ask for less in the manifest, or have the policy's owner widen the rule"}
	case errors.Is(err, policy.ErrStale):
		code = diag.EStale
		fix = []string{"sign a fresh manifest (new issuedAt/expiresAt, a version at least the one loaded)"}
	case errors.Is(err, os.ErrNotExist), errors.Is(err, os.ErrPermission):
		code = diag.EBadSignature
	}
	return diag.Wrap(code, err).At(m.Path).With(fix...)
}

// programTypes maps each planned program to its type name.
func programTypes(plan *loader.Plan) map[string]string {
	types := map[string]string{}
	for _, p := range plan.Programs() {
		types[p.Name] = p.Type
	}
	return types
}

// highWater reads the highest version loaded for name, without creating
// the state directory.
func highWater(stateDir, name string) (int64, error) {
	st, err := state.Open(stateDir, false)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, diag.Wrap(diag.EState, err)
	}
	rec, err := st.Get(name)
	if err != nil {
		return 0, diag.Wrap(diag.EState, err)
	}
	if rec == nil {
		return 0, nil
	}
	return rec.HighWater, nil
}

// refusePrivileged is the error for what a privileged bpfload (file
// capabilities) never does on its caller's say-so.
func refusePrivileged(what string) error {
	de := diag.New(diag.EPrivileged, "%s is refused: bpfload runs with capabilities its caller does not hold (file capabilities), so only a signed manifest that the root-owned trust policy allows may use them", what)
	de.Fix = []string{"sign the manifest and load it under the trust policy", "or run bpfload as root, or without file capabilities, for development"}
	return de
}
