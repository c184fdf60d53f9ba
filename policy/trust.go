package policy

import (
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"syscall"
	"time"

	"github.com/bpfload/bpfload/caps"
)

// KindTrustPolicy is the kind of a trust policy file.
const KindTrustPolicy = "TrustPolicy"

// MaxPolicySize bounds the trust policy file.
const MaxPolicySize = 1 << 20

// ErrUnsafeFile is wrapped when a policy file may be written by others
// than its owner, or is owned by another user than root or bpfload's.
var ErrUnsafeFile = errors.New("file is not safe to trust")

// TrustPolicy says which signer may ask for what. Deny by default: a
// manifest no rule matches is refused.
type TrustPolicy struct {
	APIVersion string        `yaml:"apiVersion"`
	Kind       string        `yaml:"kind"`
	Signers    []SignerEntry `yaml:"signers"`
	Revoked    []string      `yaml:"revoked"`
	Rules      []Rule        `yaml:"rules"`

	Path string `yaml:"-"`
	doc  *doc
}

// SignerEntry is one trusted key: an OpenSSH public key (ssh), an SSH
// certificate authority whose user certificates carry one of principals
// (sshCA), or a cosign PEM public key (cosign).
type SignerEntry struct {
	Name       string   `yaml:"name"`
	SSH        string   `yaml:"ssh,omitempty"`
	SSHCA      string   `yaml:"sshCA,omitempty"`
	Principals []string `yaml:"principals,omitempty"`
	Cosign     string   `yaml:"cosign,omitempty"`
}

// Rule grants manifests whose name matches one of Manifests, signed by
// Threshold distinct Signers, at most these capabilities, program types,
// attach targets and pin root.
type Rule struct {
	Manifests    []string     `yaml:"manifests"`
	Signers      []string     `yaml:"signers"`
	Threshold    int          `yaml:"threshold,omitempty"`
	Capabilities []string     `yaml:"capabilities"`
	ProgramTypes []string     `yaml:"programTypes,omitempty"`
	Attach       *AttachAllow `yaml:"attach,omitempty"`
	PinRoot      string       `yaml:"pinRoot,omitempty"`
	MinVersion   int64        `yaml:"minVersion,omitempty"`
	MaxLifetime  string       `yaml:"maxLifetime,omitempty"`

	caps     caps.Set
	lifetime time.Duration
}

// AttachAllow lists the attach targets a rule allows, as globs. A list
// that is absent does not restrict; a list that is present must match.
type AttachAllow struct {
	Interfaces []string `yaml:"interfaces,omitempty"`
	Cgroups    []string `yaml:"cgroups,omitempty"`
}

// ReadTrustPolicy reads and validates the trust policy at file, refusing a
// file others may write. With rootOnly, the file and every directory above
// it must belong to root and be writable by root alone: the caller of a
// privileged bpfload must not be able to choose its own policy.
func ReadTrustPolicy(file string, rootOnly bool) (*TrustPolicy, error) {
	f, err := openRegular(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if err := checkOwnership(f, file); err != nil {
		return nil, err
	}
	if rootOnly {
		if err := rootOwnedPath(file); err != nil {
			return nil, err
		}
	}
	raw, err := readAllLimited(f, file, MaxPolicySize)
	if err != nil {
		return nil, err
	}
	return ParseTrustPolicy(file, raw)
}

// checkOwnership refuses, as sshd does, a file writable by group or others
// or owned by someone other than root or the current user.
func checkOwnership(f *os.File, name string) error {
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if fi.Mode().Perm()&0o022 != 0 {
		return fmt.Errorf("%w: %s has mode %04o, writable by others than its owner; run chmod go-w %s", ErrUnsafeFile, name, fi.Mode().Perm(), name)
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && st.Uid != 0 && int(st.Uid) != os.Geteuid() {
		return fmt.Errorf("%w: %s is owned by uid %d, neither root nor this user (uid %d); chown it to root", ErrUnsafeFile, name, st.Uid, os.Geteuid())
	}
	return nil
}

// ParseTrustPolicy decodes and validates trust policy bytes.
func ParseTrustPolicy(file string, raw []byte) (*TrustPolicy, error) {
	var p TrustPolicy
	d, err := decodeStrict(file, raw, &p)
	if err != nil {
		return nil, err
	}
	p.Path, p.doc = file, d
	if err := p.validate(); err != nil {
		return nil, err
	}
	return &p, nil
}

func (p *TrustPolicy) validate() error {
	d := p.doc
	switch {
	case p.APIVersion != APIVersion:
		return d.invalid("apiVersion", "is %q; this bpfload reads %q", p.APIVersion, APIVersion)
	case p.Kind != KindTrustPolicy:
		return d.invalid("kind", "is %q; a trust policy has kind %q", p.Kind, KindTrustPolicy)
	case len(p.Rules) == 0:
		return d.invalid("rules", "missing: with no rule, every manifest is refused")
	}
	names := map[string]bool{}
	for i, s := range p.Signers {
		f := fmt.Sprintf("signers[%d]", i)
		if !nameRE.MatchString(s.Name) {
			return d.invalid(f+".name", "%q must be 1 to 63 of a-z, 0-9 and '-'", s.Name)
		}
		if names[s.Name] {
			return d.invalid(f+".name", "signer %s is listed twice", s.Name)
		}
		names[s.Name] = true
		n := 0
		for _, k := range []string{s.SSH, s.SSHCA, s.Cosign} {
			if k != "" {
				n++
			}
		}
		if n != 1 {
			return d.invalid(f, "give exactly one of ssh, sshCA or cosign")
		}
		if _, err := s.keys(); err != nil {
			return d.invalid(f, "%v", err)
		}
		if (s.SSHCA != "") != (len(s.Principals) > 0) {
			return d.invalid(f+".principals", "principals go with sshCA, and an sshCA needs at least one")
		}
	}
	for i, fp := range p.Revoked {
		if !fingerprintRE.MatchString(fp) {
			return d.invalid(fmt.Sprintf("revoked[%d]", i), "%q is not a key fingerprint: use SHA256:... (ssh-keygen -lf KEY) or sha256:HEX (cosign)", fp)
		}
	}
	for i := range p.Rules {
		r := &p.Rules[i]
		f := fmt.Sprintf("rules[%d]", i)
		if len(r.Manifests) == 0 {
			return d.invalid(f+".manifests", "missing: globs over manifest names, such as [\"net-*\"]")
		}
		for j, g := range r.Manifests {
			if _, err := path.Match(g, ""); err != nil {
				return d.invalid(fmt.Sprintf("%s.manifests[%d]", f, j), "bad glob %q: %v", g, err)
			}
		}
		if len(r.Signers) == 0 {
			return d.invalid(f+".signers", "missing: the signers whose signatures count for this rule")
		}
		for j, s := range r.Signers {
			if !names[s] {
				return d.invalid(fmt.Sprintf("%s.signers[%d]", f, j), "no signer is named %q", s)
			}
		}
		if r.Threshold == 0 {
			r.Threshold = 1
		}
		if r.Threshold < 1 || r.Threshold > len(r.Signers) {
			return d.invalid(f+".threshold", "%d: must be between 1 and the number of signers (%d)", r.Threshold, len(r.Signers))
		}
		cs, err := caps.Parse(r.Capabilities)
		if err != nil {
			return d.invalid(f+".capabilities", "%v", err)
		}
		r.caps = cs
		for j, t := range r.ProgramTypes {
			if !slices.Contains(knownProgramTypes(), t) {
				return d.invalid(fmt.Sprintf("%s.programTypes[%d]", f, j), "unknown program type %q (names as bpftool prints them, such as tracepoint, xdp)", t)
			}
		}
		if r.Attach != nil {
			for j, g := range append(append([]string{}, r.Attach.Interfaces...), r.Attach.Cgroups...) {
				if _, err := path.Match(g, ""); err != nil {
					return d.invalid(f+".attach", "bad glob #%d %q: %v", j, g, err)
				}
			}
		}
		if r.PinRoot != "" && (!filepath.IsAbs(r.PinRoot) || filepath.Clean(r.PinRoot) != r.PinRoot) {
			return d.invalid(f+".pinRoot", "%q must be a clean absolute path", r.PinRoot)
		}
		if r.MinVersion < 0 {
			return d.invalid(f+".minVersion", "must not be negative")
		}
		if r.MaxLifetime != "" {
			dur, err := time.ParseDuration(r.MaxLifetime)
			if err != nil || dur <= 0 {
				return d.invalid(f+".maxLifetime", "%q is not a positive duration such as 720h", r.MaxLifetime)
			}
			r.lifetime = dur
		}
	}
	return nil
}

// signer returns the signer entry named name.
func (p *TrustPolicy) signer(name string) *SignerEntry {
	for i := range p.Signers {
		if p.Signers[i].Name == name {
			return &p.Signers[i]
		}
	}
	return nil
}

// ruleFor returns the first rule whose manifests globs match name.
func (p *TrustPolicy) ruleFor(name string) (int, *Rule) {
	for i := range p.Rules {
		for _, g := range p.Rules[i].Manifests {
			if ok, _ := path.Match(g, name); ok {
				return i, &p.Rules[i]
			}
		}
	}
	return -1, nil
}

func (p *TrustPolicy) revoked(fingerprint string) bool {
	return slices.Contains(p.Revoked, fingerprint)
}

func globAny(globs []string, s string) bool {
	for _, g := range globs {
		if ok, _ := path.Match(g, s); ok {
			return true
		}
	}
	return false
}

// rootOwnedPath checks that path and each directory above it belong to
// root and are writable by no one else.
func rootOwnedPath(path string) error {
	abs, err := filepath.Abs(path)
	if err != nil {
		return err
	}
	for p := abs; ; p = filepath.Dir(p) {
		fi, err := os.Stat(p)
		if err != nil {
			return err
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		if !ok || st.Uid != 0 || fi.Mode().Perm()&0o022 != 0 {
			return fmt.Errorf("%w: %s must belong to root and be writable by root alone, as bpfload runs with privileges its caller lacks (file capabilities)", ErrUnsafeFile, p)
		}
		if p == "/" {
			return nil
		}
	}
}
