package policy

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"

	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	"google.golang.org/protobuf/encoding/protojson"
)

// errSigFormat and errSigInvalid, which every error here wraps, are declared
// in signature.go.

// sigstoreSignHelp is how to make a bundle bpfload reads, with no network.
const sigstoreSignHelp = "sign with: cosign sign-blob --key cosign.key --bundle manifest.yaml.sigstore.json --use-signing-config=false --tlog-upload=false manifest.yaml"

// sigstoreMaxBundle bounds the JSON we parse: key-signed bundles are under
// 1 KiB, and ones with log entries and certificates a few KiB.
const sigstoreMaxBundle = 1 << 20

// sigstoreMediaTypes are the bundle versions whose messageSignature layout
// we check. v0.1 is left out: it predates the key hint and needs tlog data.
var sigstoreMediaTypes = map[string]bool{
	"application/vnd.dev.sigstore.bundle.v0.3+json":        true,
	"application/vnd.dev.sigstore.bundle+json;version=0.3": true,
	"application/vnd.dev.sigstore.bundle.v0.2+json":        true,
	"application/vnd.dev.sigstore.bundle+json;version=0.2": true,
}

// cosignPublicKey parses a PEM "PUBLIC KEY" (PKIX) as cosign writes it. Only
// ECDSA P-256 and P-384 are accepted: cosign v3 blob bundles made with
// Ed25519 keys carry no message digest, and RSA is not worth the surface.
// (cosign v3.1.3 signs SHA-384 with P-384 keys, which verifySigstoreBundle
// refuses; P-384 keys work only with tools that sign SHA-256.)
// fingerprint is "sha256:" + hex SHA-256 of the PKIX DER, the bytes whose
// base64 digest cosign puts in the bundle's hint.
func cosignPublicKey(pemText string) (*ecdsa.PublicKey, string, error) {
	block, rest := pem.Decode([]byte(pemText))
	if block == nil {
		return nil, "", errors.New("cosign public key: no PEM block found; give the contents of cosign.pub (-----BEGIN PUBLIC KEY-----)")
	}
	if block.Type != "PUBLIC KEY" {
		if strings.Contains(block.Type, "PRIVATE") {
			return nil, "", fmt.Errorf("cosign public key: PEM block is %q, a private key; give the public half (cosign.pub) and keep the private key off the node", block.Type)
		}
		return nil, "", fmt.Errorf("cosign public key: PEM block is %q, want \"PUBLIC KEY\" as in cosign.pub", block.Type)
	}
	if len(bytes.TrimSpace(rest)) != 0 {
		return nil, "", errors.New("cosign public key: text after the PEM block; give one key per entry")
	}
	key, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, "", fmt.Errorf("cosign public key: %v", err)
	}
	const need = "cosign blob bundles need an ECDSA key (P-256, as cosign generate-key-pair makes)"
	var pub *ecdsa.PublicKey
	switch k := key.(type) {
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() && k.Curve != elliptic.P384() {
			return nil, "", fmt.Errorf("cosign public key: ECDSA curve %s is not supported; %s", k.Curve.Params().Name, need)
		}
		pub = k
	case ed25519.PublicKey:
		return nil, "", fmt.Errorf("cosign public key: Ed25519 key: %s; cosign v3 writes Ed25519 blob bundles without a message digest, which no verifier accepts", need)
	case *rsa.PublicKey:
		return nil, "", fmt.Errorf("cosign public key: RSA key: %s", need)
	default:
		return nil, "", fmt.Errorf("cosign public key: %T key: %s", key, need)
	}
	sum := sha256.Sum256(block.Bytes)
	return pub, "sha256:" + hex.EncodeToString(sum[:]), nil
}

// verifySigstoreBundle checks a Sigstore bundle made by cosign sign-blob
// --key over message, offline, against keys, and returns the index in keys
// of the key that verified. Only the message signature is trusted: tlog
// entries and timestamps are neither required nor checked.
func verifySigstoreBundle(bundle, message []byte, keys []*ecdsa.PublicKey) (int, error) {
	if len(bytes.TrimSpace(bundle)) == 0 {
		return -1, fmt.Errorf("%w: sigstore bundle is empty; %s", errSigFormat, sigstoreSignHelp)
	}
	if len(bundle) > sigstoreMaxBundle {
		return -1, fmt.Errorf("%w: sigstore bundle is over %d bytes", errSigFormat, sigstoreMaxBundle)
	}
	var b protobundle.Bundle
	if err := protojson.Unmarshal(bundle, &b); err != nil {
		return -1, fmt.Errorf("%w: not a sigstore bundle (%v); %s", errSigFormat, err, sigstoreSignHelp)
	}
	if !sigstoreMediaTypes[b.GetMediaType()] {
		return -1, fmt.Errorf("%w: sigstore bundle mediaType %q is not one bpfload reads (application/vnd.dev.sigstore.bundle.v0.3+json or v0.2); %s",
			errSigFormat, b.GetMediaType(), sigstoreSignHelp)
	}
	if b.GetDsseEnvelope() != nil {
		return -1, fmt.Errorf("%w: sigstore bundle holds a DSSE envelope (an attestation, as cosign attest-blob makes); bpfload needs a signature over the manifest itself: %s",
			errSigFormat, sigstoreSignHelp)
	}
	ms := b.GetMessageSignature()
	if ms == nil {
		return -1, fmt.Errorf("%w: sigstore bundle has no messageSignature; %s", errSigFormat, sigstoreSignHelp)
	}
	vm := b.GetVerificationMaterial()
	if vm == nil {
		return -1, fmt.Errorf("%w: sigstore bundle has no verificationMaterial; %s", errSigFormat, sigstoreSignHelp)
	}
	switch vm.GetContent().(type) {
	case *protobundle.VerificationMaterial_PublicKey:
	case nil:
		return -1, fmt.Errorf("%w: sigstore bundle verificationMaterial has no publicKey; %s", errSigFormat, sigstoreSignHelp)
	default:
		// Keyless signing: the identity would need the Fulcio root and the
		// log, which an offline key policy does not have.
		return -1, fmt.Errorf("%w: sigstore bundle carries a certificate (keyless signing), not a public key hint: bpfload checks key-signed bundles only; %s",
			errSigFormat, sigstoreSignHelp)
	}
	md := ms.GetMessageDigest()
	switch {
	case md.GetAlgorithm() == protocommon.HashAlgorithm_HASH_ALGORITHM_UNSPECIFIED && len(md.GetDigest()) == 0:
		// What cosign v3.1.3 writes for an Ed25519 key: "messageDigest": {}.
		return -1, fmt.Errorf("%w: sigstore bundle has no messageSignature.messageDigest, as cosign writes for Ed25519 keys; make an ECDSA P-256 key (cosign generate-key-pair) and %s",
			errSigFormat, sigstoreSignHelp)
	case md.GetAlgorithm() == protocommon.HashAlgorithm_SHA2_384:
		// cosign v3.1.3 picks SHA-384 for P-384 keys and has no flag to change it.
		return -1, fmt.Errorf("%w: sigstore bundle digest algorithm is SHA2_384, as cosign writes for P-384 keys; bpfload needs SHA2_256: make an ECDSA P-256 key (cosign generate-key-pair) and %s",
			errSigFormat, sigstoreSignHelp)
	case md.GetAlgorithm() != protocommon.HashAlgorithm_SHA2_256:
		return -1, fmt.Errorf("%w: sigstore bundle digest algorithm is %s; bpfload needs SHA2_256, which cosign uses with ECDSA P-256 keys: %s",
			errSigFormat, md.GetAlgorithm(), sigstoreSignHelp)
	}
	if len(md.GetDigest()) != sha256.Size {
		return -1, fmt.Errorf("%w: sigstore bundle SHA2_256 digest is %d bytes, want %d", errSigFormat, len(md.GetDigest()), sha256.Size)
	}
	sig := ms.GetSignature()
	if len(sig) == 0 {
		return -1, fmt.Errorf("%w: sigstore bundle has an empty messageSignature.signature; %s", errSigFormat, sigstoreSignHelp)
	}

	sum := sha256.Sum256(message)
	// The recorded digest is a claim, not proof; both it and the signature
	// over the real bytes must hold (sigstore-python#1651 skipped the first).
	if !bytes.Equal(md.GetDigest(), sum[:]) {
		return -1, fmt.Errorf("%w: the bundle was made for a file with sha256 %x, but the manifest has sha256 %x: the manifest changed after signing, or the bundle belongs to another file; re-sign it",
			errSigInvalid, md.GetDigest(), sum)
	}

	hint := vm.GetPublicKey().GetHint()
	for _, i := range sigstoreKeyOrder(hint, keys) {
		if ecdsa.VerifyASN1(keys[i], sum[:], sig) {
			return i, nil
		}
	}
	who := "no hint of the signing key"
	if hint != "" {
		who = fmt.Sprintf("signing key hint %q", hint)
		if raw, err := base64.StdEncoding.DecodeString(hint); err == nil && len(raw) == sha256.Size {
			who = fmt.Sprintf("signing key fingerprint sha256:%x", raw)
		}
	}
	return -1, fmt.Errorf("%w: the sigstore bundle's signature is valid for none of the %d trusted cosign key(s) (bundle has %s): it was made with another key, or altered; add the signer's cosign.pub to the trust policy or re-sign with a trusted key",
		errSigInvalid, len(keys), who)
}

// sigstoreKeyOrder lists the indexes of the non-nil keys, those matching the
// hint first. The hint is unsigned, so it only orders the tries.
func sigstoreKeyOrder(hint string, keys []*ecdsa.PublicKey) []int {
	first, rest := []int{}, []int{}
	for i, k := range keys {
		if k == nil || k.Curve == nil {
			continue
		}
		if hint != "" && sigstoreKeyHint(k) == hint {
			first = append(first, i)
		} else {
			rest = append(rest, i)
		}
	}
	return append(first, rest...)
}

// sigstoreKeyHint is the hint cosign writes: base64 of SHA-256 of the PKIX DER.
func sigstoreKeyHint(k *ecdsa.PublicKey) string {
	der, err := x509.MarshalPKIXPublicKey(k)
	if err != nil {
		return ""
	}
	sum := sha256.Sum256(der)
	return base64.StdEncoding.EncodeToString(sum[:])
}
