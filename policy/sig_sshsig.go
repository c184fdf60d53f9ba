package policy

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/hiddeco/sshsig"
	"golang.org/x/crypto/ssh"
)

// SSHNamespace is the SSHSIG namespace of manifest signatures. A signature
// made for git commits or files (other namespaces) is never accepted.
const SSHNamespace = "bpfload"

var fingerprintRE = regexp.MustCompile(`^(SHA256:[A-Za-z0-9+/]{43}|sha256:[0-9a-f]{64})$`)

// sshArmorHeader starts an armored SSHSIG signature.
const sshArmorHeader = "-----BEGIN SSH SIGNATURE-----"

// signerKey is a signer entry's parsed key.
type signerKey struct {
	ssh         ssh.PublicKey // ssh or sshCA
	cosignPEM   string
	fingerprint string
}

func (s *SignerEntry) keys() (signerKey, error) {
	switch {
	case s.SSH != "" || s.SSHCA != "":
		text := s.SSH + s.SSHCA
		pub, _, _, _, err := ssh.ParseAuthorizedKey([]byte(text))
		if err != nil {
			return signerKey{}, fmt.Errorf("not an OpenSSH public key line (ssh-ed25519 AAAA... comment): %v", err)
		}
		if _, isCert := pub.(*ssh.Certificate); isCert {
			return signerKey{}, errors.New("give the public key, not a certificate; trust certificates with sshCA")
		}
		return signerKey{ssh: pub, fingerprint: ssh.FingerprintSHA256(pub)}, nil
	case s.Cosign != "":
		_, fp, err := cosignPublicKey(s.Cosign)
		if err != nil {
			return signerKey{}, err
		}
		return signerKey{cosignPEM: s.Cosign, fingerprint: fp}, nil
	}
	return signerKey{}, errors.New("no key")
}

// sshSigner verifies one SSHSIG signature over message against the
// policy's ssh and sshCA signers, at time now. It returns the signer's name
// and the fingerprint of the key that signed.
func (p *TrustPolicy) sshSigner(raw, message []byte, now time.Time) (name, fingerprint string, err error) {
	sig, err := sshsig.Unarmor(raw)
	if err != nil {
		return "", "", fmt.Errorf("%w: not an SSH signature: %v (make one with: ssh-keygen -Y sign -n %s -f KEY MANIFEST, or bpfload sign)", errSigFormat, err, SSHNamespace)
	}
	if sig.Namespace != SSHNamespace {
		return "", "", fmt.Errorf("%w: signature namespace is %q; manifest signatures use -n %s, so a signature made for another purpose is never accepted", errSigInvalid, sig.Namespace, SSHNamespace)
	}
	signerName, fp, err := p.sshTrust(sig.PublicKey, now)
	if err != nil {
		return "", fp, err
	}
	if err := sshsig.Verify(bytes.NewReader(message), sig, sig.PublicKey, sig.HashAlgorithm, SSHNamespace); err != nil {
		return "", fp, fmt.Errorf("%w: the SSH signature by %s does not match the manifest's bytes: %v", errSigInvalid, fp, err)
	}
	return signerName, fp, nil
}

// sshTrust finds the signer that vouches for key: a listed ssh key, or an
// sshCA that issued key as a user certificate valid now for a listed
// principal. Revoked fingerprints are refused first.
func (p *TrustPolicy) sshTrust(key ssh.PublicKey, now time.Time) (string, string, error) {
	cert, isCert := key.(*ssh.Certificate)
	if !isCert {
		fp := ssh.FingerprintSHA256(key)
		if p.revoked(fp) {
			return "", fp, fmt.Errorf("%w: key %s is revoked by the trust policy", errSigUntrusted, fp)
		}
		for _, s := range p.Signers {
			if k, err := s.keys(); err == nil && s.SSH != "" && k.fingerprint == fp {
				return s.Name, fp, nil
			}
		}
		return "", fp, fmt.Errorf("%w: signed by key %s, which no signer of the trust policy lists", errSigUntrusted, fp)
	}
	fp := ssh.FingerprintSHA256(cert.Key)
	caFP := ssh.FingerprintSHA256(cert.SignatureKey)
	if p.revoked(fp) {
		return "", fp, fmt.Errorf("%w: certificate %q: its key %s is revoked by the trust policy", errSigUntrusted, cert.KeyId, fp)
	}
	if p.revoked(caFP) {
		return "", fp, fmt.Errorf("%w: certificate %q was issued by CA %s, which the trust policy revokes", errSigUntrusted, cert.KeyId, caFP)
	}
	var reasons []string
	for _, s := range p.Signers {
		k, err := s.keys()
		if err != nil || s.SSHCA == "" || k.fingerprint != caFP {
			continue
		}
		checker := &ssh.CertChecker{
			IsUserAuthority: func(auth ssh.PublicKey) bool { return bytes.Equal(auth.Marshal(), k.ssh.Marshal()) },
			Clock:           func() time.Time { return now },
		}
		if cert.CertType != ssh.UserCert {
			reasons = append(reasons, "not a user certificate")
			continue
		}
		// x/crypto accepts a certificate with no principals for any
		// principal; OpenSSH refuses it, and so does bpfload.
		if len(cert.ValidPrincipals) == 0 {
			reasons = append(reasons, "it lists no principals")
			continue
		}
		if !checker.IsUserAuthority(cert.SignatureKey) {
			continue
		}
		for _, principal := range s.Principals {
			err := checker.CheckCert(principal, cert)
			if err == nil {
				return s.Name, fp, nil
			}
			reasons = append(reasons, err.Error())
		}
	}
	if len(reasons) == 0 {
		return "", fp, fmt.Errorf("%w: certificate %q was issued by CA %s, which no sshCA signer lists", errSigUntrusted, cert.KeyId, caFP)
	}
	return "", fp, fmt.Errorf("%w: certificate %q (principals %s, valid %s to %s) is not acceptable: %s; get a fresh certificate for a listed principal", errSigUntrusted, cert.KeyId,
		strings.Join(cert.ValidPrincipals, ","), certTime(cert.ValidAfter), certTime(cert.ValidBefore), strings.Join(reasons, "; "))
}

func certTime(t uint64) string {
	switch t {
	case 0:
		return "always"
	case ssh.CertTimeInfinity:
		return "forever"
	}
	return time.Unix(int64(t), 0).UTC().Format(time.RFC3339)
}

// SignSSH signs message with the OpenSSH private key at keyPath, as
// `ssh-keygen -Y sign -n bpfload` does, and returns the armored signature.
// If KEY-cert.pub lies beside the key, the certificate is embedded so that
// an sshCA signer can vouch for it. An encrypted key is opened with the
// passphrase in BPFLOAD_KEY_PASSPHRASE.
func SignSSH(keyPath string, message []byte) ([]byte, error) {
	pem, err := readLimited(keyPath, 64<<10)
	if err != nil {
		return nil, err
	}
	var signer ssh.Signer
	if pass, ok := os.LookupEnv("BPFLOAD_KEY_PASSPHRASE"); ok {
		signer, err = ssh.ParsePrivateKeyWithPassphrase(pem, []byte(pass))
	} else {
		signer, err = ssh.ParsePrivateKey(pem)
	}
	var missing *ssh.PassphraseMissingError
	if errors.As(err, &missing) {
		return nil, fmt.Errorf("%s is encrypted: put its passphrase in BPFLOAD_KEY_PASSPHRASE", keyPath)
	}
	if err != nil {
		return nil, fmt.Errorf("%s is not an OpenSSH private key: %w", keyPath, err)
	}
	if certText, err := os.ReadFile(keyPath + "-cert.pub"); err == nil {
		pub, _, _, _, err := ssh.ParseAuthorizedKey(certText)
		if err != nil {
			return nil, fmt.Errorf("%s-cert.pub: %w", keyPath, err)
		}
		cert, ok := pub.(*ssh.Certificate)
		if !ok {
			return nil, fmt.Errorf("%s-cert.pub is not a certificate", keyPath)
		}
		if signer, err = ssh.NewCertSigner(cert, signer); err != nil {
			return nil, fmt.Errorf("%s-cert.pub does not belong to %s: %w", keyPath, keyPath, err)
		}
	}
	sig, err := sshsig.Sign(bytes.NewReader(message), signer, sshsig.HashSHA512, SSHNamespace)
	if err != nil {
		return nil, err
	}
	return sshsig.Armor(sig), nil
}
