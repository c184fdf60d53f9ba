package policy

import (
	"bytes"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"github.com/bpfload/bpfload/caps"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// MaxSignatureSize bounds each signature file.
const MaxSignatureSize = 64 << 10

// clockSkew is how far in the future issuedAt may lie.
const clockSkew = 5 * time.Minute

// VerifyOptions say where the signatures are and what this host knows.
type VerifyOptions struct {
	// Signatures are signature files to check. Empty: the files beside the
	// manifest (MANIFEST.sig, MANIFEST.N.sig, MANIFEST.sigstore.json,
	// MANIFEST.N.sigstore.json), or those in SignatureDir.
	Signatures   []string
	SignatureDir string
	// Now is the time to check validity at; zero means time.Now().
	Now time.Time
	// HighWater is the highest version of this manifest name already
	// loaded on this host; a lower version is a rollback.
	HighWater int64
}

// Verified says why a manifest is trusted.
type Verified struct {
	Rule       int
	RuleGlobs  []string
	Signatures []VerifiedSignature
}

// VerifiedSignature is one signature that verified.
type VerifiedSignature struct {
	File        string `json:"file"`
	Format      string `json:"format"` // sshsig or sigstore
	Signer      string `json:"signer"`
	Fingerprint string `json:"fingerprint"`
	Counted     bool   `json:"counted"` // the rule lists this signer
}

// Describe names the rule for messages.
func (v *Verified) Describe() string { return describeRule(v.Rule, v.RuleGlobs) }

func describeRule(i int, globs []string) string {
	return fmt.Sprintf("rule %d (manifests: %s)", i, strings.Join(globs, ", "))
}

// FindSignatures lists the signature files beside manifest, or in dir if
// dir is not empty: NAME.sig, NAME.N.sig, NAME.sigstore.json and
// NAME.N.sigstore.json for the manifest's file NAME.
func FindSignatures(manifest, dir string) ([]string, error) {
	base := filepath.Base(manifest)
	if dir == "" {
		dir = filepath.Dir(manifest)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	re := regexp.MustCompile(`^` + regexp.QuoteMeta(base) + `(\.([2-9]|[1-9][0-9]+))?\.(sig|sigstore\.json)$`)
	var out []string
	for _, e := range ents {
		if re.MatchString(e.Name()) {
			out = append(out, filepath.Join(dir, e.Name()))
		}
	}
	sort.Slice(out, func(i, j int) bool { return sigOrder(out[i]) < sigOrder(out[j]) })
	return out, nil
}

func sigOrder(p string) string {
	parts := strings.Split(filepath.Base(p), ".")
	for _, s := range parts {
		if n, err := strconv.Atoi(s); err == nil {
			return fmt.Sprintf("%08d", n)
		}
	}
	return "00000001" + p
}

// Verify checks m against the policy before anything is loaded: a rule
// must match its name; every signature must verify and come from a trusted,
// unrevoked key; the rule's threshold of distinct listed signers must be
// met; its capabilities must be within the rule's ceiling, its attach
// targets within the rule's allowlists; it must not be expired, too old for
// the rule, below minVersion or below the version already loaded.
func (p *TrustPolicy) Verify(m *Manifest, opts VerifyOptions) (*Verified, error) {
	now := opts.Now
	if now.IsZero() {
		now = time.Now()
	}
	ri, rule := p.ruleFor(m.Name)
	if rule == nil {
		return nil, fmt.Errorf("%w: no rule of %s matches manifest name %q; the policy denies by default (add a rule whose manifests: globs match it)", ErrNoRule, p.Path, m.Name)
	}
	v := &Verified{Rule: ri, RuleGlobs: rule.Manifests}
	desc := v.Describe()
	files := opts.Signatures
	if len(files) == 0 {
		var err error
		if files, err = FindSignatures(m.Path, opts.SignatureDir); err != nil {
			return nil, err
		}
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("%w: no signature found for %s (looked for %s.sig and %s.sigstore.json)", ErrUnsigned, m.Path, filepath.Base(m.Path), filepath.Base(m.Path))
	}
	counted := map[string]bool{} // by signer
	keys := map[string]bool{}    // by key: one key counts once, whoever vouches for it
	for _, f := range files {
		vs, err := p.verifyOne(f, m.Raw, now)
		if err != nil {
			return nil, fmt.Errorf("%s (checked for %s): %w", f, desc, err)
		}
		for _, s := range rule.Signers {
			if s == vs.Signer && !keys[vs.Fingerprint] {
				vs.Counted = true
				counted[s] = true
				keys[vs.Fingerprint] = true
			}
		}
		v.Signatures = append(v.Signatures, vs)
	}
	if len(counted) < rule.Threshold || len(keys) < rule.Threshold {
		var got []string
		for _, s := range v.Signatures {
			got = append(got, s.Signer)
		}
		return nil, fmt.Errorf("%w: %s needs signatures by %d distinct keys of distinct signers among [%s]; the valid ones come from [%s] with %d distinct keys", ErrThreshold, desc, rule.Threshold, strings.Join(rule.Signers, ", "), strings.Join(got, ", "), len(keys))
	}
	if over := m.Caps.Minus(rule.caps); over != 0 {
		return nil, fmt.Errorf("%w: %s: capabilities: %s asks for %s, over the rule's ceiling [%s]", ErrOutsideRule, m.Where("capabilities"), m.Name, over, strings.Join(rule.Capabilities, ", "))
	}
	if err := p.checkAttach(m, rule, desc); err != nil {
		return nil, err
	}
	if err := checkFresh(m, rule, desc, now, opts.HighWater); err != nil {
		return nil, err
	}
	return v, nil
}

func (p *TrustPolicy) verifyOne(file string, message []byte, now time.Time) (VerifiedSignature, error) {
	raw, err := readLimited(file, MaxSignatureSize)
	if errors.Is(err, ErrTooLarge) {
		return VerifiedSignature{}, fmt.Errorf("%w: over %d bytes", errSigFormat, MaxSignatureSize)
	}
	if errors.Is(err, ErrNotRegular) {
		return VerifiedSignature{}, fmt.Errorf("%w: %v", errSigFormat, err)
	}
	if err != nil {
		return VerifiedSignature{}, err
	}
	trimmed := bytes.TrimSpace(raw)
	switch {
	case bytes.HasPrefix(trimmed, []byte(sshArmorHeader)):
		name, fp, err := p.sshSigner(raw, message, now)
		return VerifiedSignature{File: file, Format: "sshsig", Signer: name, Fingerprint: fp}, err
	case bytes.HasPrefix(trimmed, []byte("{")):
		return p.cosignSigner(file, raw, message)
	}
	return VerifiedSignature{}, fmt.Errorf("%w: neither an SSH signature nor a Sigstore bundle", errSigFormat)
}

func (p *TrustPolicy) cosignSigner(file string, raw, message []byte) (VerifiedSignature, error) {
	var names, fps []string
	var keys []*ecdsa.PublicKey
	for _, s := range p.Signers {
		if s.Cosign == "" {
			continue
		}
		pub, fp, err := cosignPublicKey(s.Cosign)
		if err != nil {
			continue
		}
		names, fps, keys = append(names, s.Name), append(fps, fp), append(keys, pub)
	}
	if len(keys) == 0 {
		return VerifiedSignature{}, fmt.Errorf("%w: a Sigstore bundle, but the trust policy lists no cosign signer", errSigUntrusted)
	}
	i, err := verifySigstoreBundle(raw, message, keys)
	if err != nil {
		return VerifiedSignature{}, err
	}
	if p.revoked(fps[i]) {
		return VerifiedSignature{}, fmt.Errorf("%w: cosign key %s is revoked by the trust policy", errSigUntrusted, fps[i])
	}
	return VerifiedSignature{File: file, Format: "sigstore", Signer: names[i], Fingerprint: fps[i]}, nil
}

func (p *TrustPolicy) checkAttach(m *Manifest, rule *Rule, desc string) error {
	if rule.Attach == nil {
		return nil
	}
	for i, prog := range m.Programs {
		a := prog.Attach
		var kind, target string
		var allowed []string
		switch {
		case a.XDP != nil && rule.Attach.Interfaces != nil:
			kind, target, allowed = "interface", a.XDP.Interface, rule.Attach.Interfaces
		case a.TCX != nil && rule.Attach.Interfaces != nil:
			kind, target, allowed = "interface", a.TCX.Interface, rule.Attach.Interfaces
		case a.Cgroup != nil && rule.Attach.Cgroups != nil:
			kind, target, allowed = "cgroup", filepath.Clean(a.Cgroup.Path), rule.Attach.Cgroups
		default:
			continue
		}
		if !globAny(allowed, target) {
			return fmt.Errorf("%w: %s: programs[%d] %s attaches to %s %s, which %s does not allow (allowed: %s)",
				ErrOutsideRule, m.Where(fmt.Sprintf("programs[%d].attach", i)), i, prog.Name, kind, target, desc, strings.Join(allowed, ", "))
		}
	}
	return nil
}

func checkFresh(m *Manifest, rule *Rule, desc string, now time.Time, highWater int64) error {
	if m.Version < rule.MinVersion {
		return fmt.Errorf("%w: %s: version %d is below %s's minVersion %d", ErrStale, m.Where("version"), m.Version, desc, rule.MinVersion)
	}
	if m.Version < highWater {
		return fmt.Errorf("%w: %s: version %d is below version %d, already loaded on this host: a rollback (sign a manifest with version %d or higher)", ErrStale, m.Where("version"), m.Version, highWater, highWater)
	}
	if m.expires != nil && now.After(*m.expires) {
		return fmt.Errorf("%w: %s: expired at %s", ErrStale, m.Where("expiresAt"), m.expires.Format(time.RFC3339))
	}
	if m.issued != nil && m.issued.After(now.Add(clockSkew)) {
		return fmt.Errorf("%w: %s: issuedAt %s lies in the future (check this host's clock)", ErrStale, m.Where("issuedAt"), m.issued.Format(time.RFC3339))
	}
	if rule.lifetime > 0 {
		if m.issued == nil {
			return fmt.Errorf("%w: %s sets maxLifetime %s, so the manifest needs issuedAt", ErrStale, desc, rule.MaxLifetime)
		}
		if age := now.Sub(*m.issued); age > rule.lifetime {
			return fmt.Errorf("%w: %s: issued %s ago, longer than %s's maxLifetime %s: sign it again", ErrStale, m.Where("issuedAt"), age.Round(time.Minute), desc, rule.MaxLifetime)
		}
		if m.expires != nil && m.expires.Sub(*m.issued) > rule.lifetime {
			return fmt.Errorf("%w: %s: valid for %s, longer than %s's maxLifetime %s", ErrStale, m.Where("expiresAt"), m.expires.Sub(*m.issued), desc, rule.MaxLifetime)
		}
	}
	return nil
}

// CheckPlan checks what only the object tells: each program's type, and
// the pin directory, against the rule v names. types maps program names to
// bpftool type names.
func (p *TrustPolicy) CheckPlan(m *Manifest, v *Verified, types map[string]string, pinDir, defaultPinRoot string) error {
	rule := &p.Rules[v.Rule]
	desc := v.Describe()
	if len(rule.ProgramTypes) > 0 {
		for i, prog := range m.Programs {
			if t := types[prog.Name]; !globAny(rule.ProgramTypes, t) {
				return fmt.Errorf("%w: %s: program %s is a %s program, which %s does not allow (programTypes: %s)",
					ErrOutsideRule, m.Where(fmt.Sprintf("programs[%d]", i)), prog.Name, t, desc, strings.Join(rule.ProgramTypes, ", "))
			}
		}
	}
	root := rule.PinRoot
	if root == "" {
		root = defaultPinRoot
	}
	if rel, err := filepath.Rel(root, pinDir); err != nil || rel == "." || strings.HasPrefix(rel, "..") {
		return fmt.Errorf("%w: %s: pin directory %s lies outside %s's pin root %s", ErrOutsideRule, m.Where("pin"), pinDir, desc, root)
	}
	return nil
}

// Ceiling is the capability ceiling of the rule v matched.
func (p *TrustPolicy) Ceiling(v *Verified) caps.Set { return p.Rules[v.Rule].caps }
