package policy

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Made by a real cosign v3.1.3; see testdata/cosign-v3.1.3/README.md.
const sigstoreFixtures = "testdata/cosign-v3.1.3"

func sigstoreFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(sigstoreFixtures, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func sigstoreFixtureKey(t testing.TB, name string) (*ecdsa.PublicKey, string) {
	t.Helper()
	pub, fp, err := cosignPublicKey(string(sigstoreFixture(t, name)))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return pub, fp
}

// sigstoreMutate edits the fixture bundle as generic JSON.
func sigstoreMutate(t testing.TB, edit func(b map[string]any)) []byte {
	t.Helper()
	var b map[string]any
	if err := json.Unmarshal(sigstoreFixture(t, "manifest.yaml.sigstore.json"), &b); err != nil {
		t.Fatal(err)
	}
	edit(b)
	out, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func sigstoreObj(b map[string]any, key string) map[string]any {
	return b[key].(map[string]any)
}

// sigstoreRawSig is the DER ECDSA signature inside the fixture bundle.
func sigstoreRawSig(t testing.TB) []byte {
	t.Helper()
	var b struct {
		MessageSignature struct {
			Signature []byte `json:"signature"`
		} `json:"messageSignature"`
	}
	if err := json.Unmarshal(sigstoreFixture(t, "manifest.yaml.sigstore.json"), &b); err != nil {
		t.Fatal(err)
	}
	if len(b.MessageSignature.Signature) == 0 {
		t.Fatal("fixture bundle has no signature")
	}
	return b.MessageSignature.Signature
}

func TestSigstoreBundleVerifies(t *testing.T) {
	bundle := sigstoreFixture(t, "manifest.yaml.sigstore.json")
	manifest := sigstoreFixture(t, "manifest.yaml")
	trusted, _ := sigstoreFixtureKey(t, "cosign.pub")
	other, _ := sigstoreFixtureKey(t, "other.pub")

	// The fixture manifest is a valid bpfload manifest, not just bytes.
	if _, err := ParseManifest("manifest.yaml", manifest); err != nil {
		t.Fatalf("fixture manifest: %v", err)
	}
	for _, c := range []struct {
		name string
		keys []*ecdsa.PublicKey
		want int
	}{
		{"alone", []*ecdsa.PublicKey{trusted}, 0},
		{"first", []*ecdsa.PublicKey{trusted, other}, 0},
		{"second", []*ecdsa.PublicKey{other, trusted}, 1},
		{"after nil", []*ecdsa.PublicKey{nil, other, {}, trusted}, 3},
	} {
		got, err := verifySigstoreBundle(bundle, manifest, c.keys)
		if err != nil || got != c.want {
			t.Errorf("%s: got %d, %v; want %d", c.name, got, err, c.want)
		}
	}
}

func TestSigstoreBundleUntrustedKey(t *testing.T) {
	other, _ := sigstoreFixtureKey(t, "other.pub")
	for _, keys := range [][]*ecdsa.PublicKey{{other}, nil} {
		i, err := verifySigstoreBundle(sigstoreFixture(t, "manifest.yaml.sigstore.json"), sigstoreFixture(t, "manifest.yaml"), keys)
		if !errors.Is(err, errSigInvalid) || errors.Is(err, errSigFormat) || i != -1 {
			t.Fatalf("%d keys: got %d, %v; want errSigInvalid", len(keys), i, err)
		}
		if !strings.Contains(err.Error(), "trust policy") {
			t.Errorf("error does not say how to fix it: %v", err)
		}
	}
}

// The hint is unsigned: it may be missing or name another key, and the
// right key still verifies.
func TestSigstoreBundleHintOnlyOrders(t *testing.T) {
	manifest := sigstoreFixture(t, "manifest.yaml")
	trusted, _ := sigstoreFixtureKey(t, "cosign.pub")
	other, _ := sigstoreFixtureKey(t, "other.pub")
	keys := []*ecdsa.PublicKey{other, trusted}
	for name, hint := range map[string]any{
		"no hint":    nil,
		"empty hint": "",
		"other hint": sigstoreKeyHint(other),
		"junk hint":  "not base64",
	} {
		bundle := sigstoreMutate(t, func(b map[string]any) {
			pk := sigstoreObj(sigstoreObj(b, "verificationMaterial"), "publicKey")
			if hint == nil {
				delete(pk, "hint")
			} else {
				pk["hint"] = hint
			}
		})
		if i, err := verifySigstoreBundle(bundle, manifest, keys); err != nil || i != 1 {
			t.Errorf("%s: got %d, %v; want 1", name, i, err)
		}
	}
	// Ordering alone: the hinted key comes first, wherever it is listed.
	if got := sigstoreKeyOrder(sigstoreKeyHint(trusted), []*ecdsa.PublicKey{other, nil, trusted}); len(got) != 2 || got[0] != 2 || got[1] != 0 {
		t.Errorf("key order %v, want [2 0]", got)
	}
}

func TestSigstoreBundleAcceptsVersionsAndIgnoresLog(t *testing.T) {
	manifest := sigstoreFixture(t, "manifest.yaml")
	trusted, _ := sigstoreFixtureKey(t, "cosign.pub")
	edits := map[string]func(b map[string]any){
		"v0.3 old form": func(b map[string]any) { b["mediaType"] = "application/vnd.dev.sigstore.bundle+json;version=0.3" },
		"v0.2":          func(b map[string]any) { b["mediaType"] = "application/vnd.dev.sigstore.bundle+json;version=0.2" },
		// A log entry and a timestamp that are nonsense: neither is trusted,
		// so neither may make a good signature fail.
		"tlog and tsa": func(b map[string]any) {
			vm := sigstoreObj(b, "verificationMaterial")
			vm["tlogEntries"] = []any{map[string]any{
				"logIndex": "1", "logId": map[string]any{"keyId": "AAAA"},
				"kindVersion":    map[string]any{"kind": "hashedrekord", "version": "0.0.1"},
				"integratedTime": "1", "canonicalizedBody": "e30=",
			}}
			vm["timestampVerificationData"] = map[string]any{
				"rfc3161Timestamps": []any{map[string]any{"signedTimestamp": "AAAA"}},
			}
		},
	}
	for name, edit := range edits {
		if i, err := verifySigstoreBundle(sigstoreMutate(t, edit), manifest, []*ecdsa.PublicKey{trusted}); err != nil || i != 0 {
			t.Errorf("%s: got %d, %v", name, i, err)
		}
	}
}

func TestSigstoreBundleRejects(t *testing.T) {
	manifest := sigstoreFixture(t, "manifest.yaml")
	bundle := sigstoreFixture(t, "manifest.yaml.sigstore.json")
	trusted, _ := sigstoreFixtureKey(t, "cosign.pub")
	other, _ := sigstoreFixtureKey(t, "other.pub")
	keys := []*ecdsa.PublicKey{other, trusted}

	flipped := bytes.Clone(manifest)
	flipped[len(flipped)/2] ^= 0x01
	// A changed manifest with its digest updated too: only the signature
	// over the real bytes can catch this one.
	flipSum := sha256.Sum256(flipped)
	sig := sigstoreRawSig(t)

	ms := func(b map[string]any) map[string]any { return sigstoreObj(b, "messageSignature") }
	md := func(b map[string]any) map[string]any { return sigstoreObj(ms(b), "messageDigest") }
	for _, c := range []struct {
		name     string
		bundle   []byte
		message  []byte
		want     error
		contains string
	}{
		{name: "manifest byte flipped", message: flipped, want: errSigInvalid, contains: "re-sign"},
		{name: "manifest and digest changed", message: flipped, want: errSigInvalid, contains: "none of the 2 trusted",
			bundle: sigstoreMutate(t, func(b map[string]any) { md(b)["digest"] = flipSum[:] })},
		{name: "signature byte flipped", want: errSigInvalid, contains: "none of the 2 trusted",
			bundle: sigstoreMutate(t, func(b map[string]any) {
				s := bytes.Clone(sig)
				s[len(s)-3] ^= 0x40
				ms(b)["signature"] = s
			})},
		{name: "signature truncated", want: errSigInvalid,
			bundle: sigstoreMutate(t, func(b map[string]any) { ms(b)["signature"] = sig[:len(sig)-1] })},
		{name: "digest byte flipped", want: errSigInvalid, contains: "sha256",
			bundle: sigstoreMutate(t, func(b map[string]any) {
				d, _ := base64.StdEncoding.DecodeString(md(b)["digest"].(string))
				d[0] ^= 0xff
				md(b)["digest"] = d
			})},
		{name: "digest short", want: errSigFormat,
			bundle: sigstoreMutate(t, func(b map[string]any) { md(b)["digest"] = []byte{1, 2, 3} })},
		{name: "digest SHA2_384", want: errSigFormat, contains: "SHA2_256",
			bundle: sigstoreMutate(t, func(b map[string]any) { md(b)["algorithm"] = "SHA2_384" })},
		{name: "digest unspecified", want: errSigFormat, contains: "SHA2_256",
			bundle: sigstoreMutate(t, func(b map[string]any) { delete(md(b), "algorithm") })},
		{name: "digest missing", want: errSigFormat, contains: "messageDigest",
			bundle: sigstoreMutate(t, func(b map[string]any) { delete(ms(b), "messageDigest") })},
		{name: "signature missing", want: errSigFormat, contains: "empty",
			bundle: sigstoreMutate(t, func(b map[string]any) { delete(ms(b), "signature") })},
		{name: "mediaType changed", want: errSigFormat, contains: "mediaType",
			bundle: sigstoreMutate(t, func(b map[string]any) { b["mediaType"] = "application/vnd.dev.sigstore.bundle.v0.4+json" })},
		{name: "mediaType v0.1", want: errSigFormat, contains: "mediaType",
			bundle: sigstoreMutate(t, func(b map[string]any) { b["mediaType"] = "application/vnd.dev.sigstore.bundle+json;version=0.1" })},
		{name: "mediaType missing", want: errSigFormat, contains: "mediaType",
			bundle: sigstoreMutate(t, func(b map[string]any) { delete(b, "mediaType") })},
		{name: "DSSE envelope", want: errSigFormat, contains: "DSSE",
			bundle: sigstoreMutate(t, func(b map[string]any) {
				delete(b, "messageSignature")
				b["dsseEnvelope"] = map[string]any{
					"payload":     base64.StdEncoding.EncodeToString([]byte(`{"_type":"https://in-toto.io/Statement/v1"}`)),
					"payloadType": "application/vnd.in-toto+json",
					"signatures":  []any{map[string]any{"sig": base64.StdEncoding.EncodeToString(sig), "keyid": ""}},
				}
			})},
		{name: "messageSignature missing", want: errSigFormat, contains: "messageSignature",
			bundle: sigstoreMutate(t, func(b map[string]any) { delete(b, "messageSignature") })},
		{name: "verificationMaterial missing", want: errSigFormat, contains: "verificationMaterial",
			bundle: sigstoreMutate(t, func(b map[string]any) { delete(b, "verificationMaterial") })},
		{name: "verificationMaterial empty", want: errSigFormat, contains: "no publicKey",
			bundle: sigstoreMutate(t, func(b map[string]any) { b["verificationMaterial"] = map[string]any{} })},
		{name: "certificate chain", want: errSigFormat, contains: "certificate",
			bundle: sigstoreMutate(t, func(b map[string]any) {
				b["verificationMaterial"] = map[string]any{"x509CertificateChain": map[string]any{"certificates": []any{map[string]any{"rawBytes": "MIIB"}}}}
			})},
		{name: "certificate", want: errSigFormat, contains: "certificate",
			bundle: sigstoreMutate(t, func(b map[string]any) {
				b["verificationMaterial"] = map[string]any{"certificate": map[string]any{"rawBytes": "MIIB"}}
			})},
		{name: "unknown field", want: errSigFormat,
			bundle: sigstoreMutate(t, func(b map[string]any) { b["signedBy"] = "me" })},
		{name: "truncated JSON", bundle: bundle[:len(bundle)/2], want: errSigFormat, contains: "cosign sign-blob"},
		{name: "empty", bundle: []byte{}, want: errSigFormat, contains: "empty"},
		{name: "blank", bundle: []byte(" \n"), want: errSigFormat},
		{name: "JSON null", bundle: []byte("null"), want: errSigFormat},
		{name: "JSON array", bundle: []byte("[]"), want: errSigFormat},
		{name: "the manifest itself", bundle: manifest, want: errSigFormat},
		{name: "legacy base64 signature", bundle: []byte(base64.StdEncoding.EncodeToString(sig)), want: errSigFormat},
		{name: "huge", bundle: bytes.Repeat([]byte(" "), sigstoreMaxBundle+1), want: errSigFormat},
	} {
		b, m := c.bundle, c.message
		if b == nil {
			b = bundle
		}
		if m == nil {
			m = manifest
		}
		i, err := verifySigstoreBundle(b, m, keys)
		other := errSigFormat
		if c.want == errSigFormat {
			other = errSigInvalid
		}
		if !errors.Is(err, c.want) || errors.Is(err, other) || i != -1 {
			t.Errorf("%s: got %d, %v; want %v", c.name, i, err, c.want)
			continue
		}
		if !strings.Contains(err.Error(), c.contains) {
			t.Errorf("%s: error lacks %q: %v", c.name, c.contains, err)
		}
	}
}

func TestSigstoreBundleMessageNamesSigningKey(t *testing.T) {
	other, _ := sigstoreFixtureKey(t, "other.pub")
	_, fp := sigstoreFixtureKey(t, "cosign.pub")
	_, err := verifySigstoreBundle(sigstoreFixture(t, "manifest.yaml.sigstore.json"), sigstoreFixture(t, "manifest.yaml"), []*ecdsa.PublicKey{other})
	if err == nil || !strings.Contains(err.Error(), fp) {
		t.Errorf("error does not name the signing key %s: %v", fp, err)
	}
}

// Bundles cosign v3.1.3 really writes for other key types, and for
// attest-blob, are refused as malformed with a message that says what to do.
func TestSigstoreBundleCosignRefused(t *testing.T) {
	manifest := sigstoreFixture(t, "manifest.yaml")
	trusted, _ := sigstoreFixtureKey(t, "cosign.pub")
	p384, _ := sigstoreFixtureKey(t, "p384.pub")
	if p384.Curve != elliptic.P384() {
		t.Fatalf("p384.pub is %s", p384.Curve.Params().Name)
	}
	for _, c := range []struct{ file, contains string }{
		{"manifest.yaml.p384.sigstore.json", "SHA2_384, as cosign writes for P-384"},
		{"manifest.yaml.ed25519.sigstore.json", "Ed25519"},
		{"manifest.yaml.dsse.sigstore.json", "DSSE"},
	} {
		i, err := verifySigstoreBundle(sigstoreFixture(t, c.file), manifest, []*ecdsa.PublicKey{trusted, p384})
		if !errors.Is(err, errSigFormat) || errors.Is(err, errSigInvalid) || i != -1 {
			t.Errorf("%s: got %d, %v; want errSigFormat", c.file, i, err)
			continue
		}
		if !strings.Contains(err.Error(), c.contains) || !strings.Contains(err.Error(), "cosign") {
			t.Errorf("%s: error lacks %q or a cosign command: %v", c.file, c.contains, err)
		}
	}
}

// P-384 keys are accepted. cosign v3.1.3 signs SHA-384 with them (refused
// above), but a P-384 signature over SHA-256, as other tools make, verifies.
func TestSigstoreBundleP384(t *testing.T) {
	priv, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKIXPublicKey(&priv.PublicKey)
	pub, _, err := cosignPublicKey(string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})))
	if err != nil {
		t.Fatal(err)
	}
	msg := []byte("apiVersion: bpfload/v1\n")
	sum := sha256.Sum256(msg)
	sig, err := ecdsa.SignASN1(rand.Reader, priv, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	bundle := sigstoreMutate(t, func(b map[string]any) {
		sigstoreObj(sigstoreObj(b, "verificationMaterial"), "publicKey")["hint"] = sigstoreKeyHint(pub)
		ms := sigstoreObj(b, "messageSignature")
		ms["signature"] = sig
		sigstoreObj(ms, "messageDigest")["digest"] = sum[:]
	})
	trusted, _ := sigstoreFixtureKey(t, "cosign.pub")
	if i, err := verifySigstoreBundle(bundle, msg, []*ecdsa.PublicKey{trusted, pub}); err != nil || i != 1 {
		t.Errorf("got %d, %v", i, err)
	}
}

func TestSigstoreCosignPublicKey(t *testing.T) {
	pemText := sigstoreFixture(t, "cosign.pub")
	pub, fp, err := cosignPublicKey(string(pemText))
	if err != nil {
		t.Fatal(err)
	}
	if pub.Curve != elliptic.P256() {
		t.Errorf("curve %s, want P-256 (cosign generate-key-pair)", pub.Curve.Params().Name)
	}
	block, _ := pem.Decode(pemText)
	sum := sha256.Sum256(block.Bytes)
	if want := "sha256:" + hex.EncodeToString(sum[:]); fp != want {
		t.Errorf("fingerprint %s, want %s", fp, want)
	}
	// cosign's hint is base64 of the same digest.
	var b struct {
		VerificationMaterial struct {
			PublicKey struct{ Hint string } `json:"publicKey"`
		} `json:"verificationMaterial"`
	}
	if err := json.Unmarshal(sigstoreFixture(t, "manifest.yaml.sigstore.json"), &b); err != nil {
		t.Fatal(err)
	}
	hint, err := base64.StdEncoding.DecodeString(b.VerificationMaterial.PublicKey.Hint)
	if err != nil || "sha256:"+hex.EncodeToString(hint) != fp {
		t.Errorf("bundle hint %q (%x) is not fingerprint %s", b.VerificationMaterial.PublicKey.Hint, hint, fp)
	}
	if got := sigstoreKeyHint(pub); got != b.VerificationMaterial.PublicKey.Hint {
		t.Errorf("sigstoreKeyHint %q, bundle hint %q", got, b.VerificationMaterial.PublicKey.Hint)
	}
	if _, ofp, err := cosignPublicKey(string(sigstoreFixture(t, "other.pub"))); err != nil || ofp == fp {
		t.Errorf("other.pub: %s, %v", ofp, err)
	}
}

func TestSigstoreCosignPublicKeyRejects(t *testing.T) {
	pemOf := func(typ string, key any) string {
		der, err := x509.MarshalPKIXPublicKey(key)
		if err != nil {
			t.Fatal(err)
		}
		return string(pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}))
	}
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	p521, err := ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	edPub, _, _ := ed25519.GenerateKey(rand.Reader)
	good := string(sigstoreFixture(t, "cosign.pub"))
	for _, c := range []struct{ name, pem, contains string }{
		{"ed25519 fixture", string(sigstoreFixture(t, "ed25519.pub")), "need an ECDSA key"},
		{"ed25519", pemOf("PUBLIC KEY", edPub), "Ed25519"},
		{"rsa", pemOf("PUBLIC KEY", &rsaKey.PublicKey), "need an ECDSA key"},
		{"p521", pemOf("PUBLIC KEY", &p521.PublicKey), "P-521"},
		{"private key", strings.ReplaceAll(good, "PUBLIC KEY", "ENCRYPTED SIGSTORE PRIVATE KEY"), "private key"},
		{"wrong type", strings.ReplaceAll(good, "PUBLIC KEY", "CERTIFICATE"), "PUBLIC KEY"},
		{"two keys", good + good, "one key"},
		{"not PEM", "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE", "no PEM block"},
		{"empty", "", "no PEM block"},
		{"bad DER", "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", "cosign public key"},
	} {
		pub, fp, err := cosignPublicKey(c.pem)
		if err == nil || pub != nil || fp != "" {
			t.Errorf("%s: accepted (%s)", c.name, fp)
			continue
		}
		if !strings.Contains(err.Error(), c.contains) {
			t.Errorf("%s: error lacks %q: %v", c.name, c.contains, err)
		}
	}
}

// openssl is an independent oracle: the bundle's signature is a plain
// ASN.1 ECDSA signature over SHA-256 of the manifest bytes.
func TestSigstoreOpenSSL(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl not on PATH")
	}
	dir := t.TempDir()
	sigPath := filepath.Join(dir, "sig.der")
	if err := os.WriteFile(sigPath, sigstoreRawSig(t), 0o600); err != nil {
		t.Fatal(err)
	}
	verify := func(pub, file string) (string, error) {
		out, err := exec.Command("openssl", "dgst", "-sha256", "-verify", filepath.Join(sigstoreFixtures, pub),
			"-signature", sigPath, file).CombinedOutput()
		return string(out), err
	}
	if out, err := verify("cosign.pub", filepath.Join(sigstoreFixtures, "manifest.yaml")); err != nil || !strings.Contains(out, "Verified OK") {
		t.Errorf("openssl with cosign.pub: %v: %s", err, out)
	}
	if out, err := verify("other.pub", filepath.Join(sigstoreFixtures, "manifest.yaml")); err == nil || strings.Contains(out, "Verified OK") {
		t.Errorf("openssl accepted other.pub: %s", out)
	}
	flipped := sigstoreFixture(t, "manifest.yaml")
	flipped[len(flipped)/2] ^= 0x01
	flippedPath := filepath.Join(dir, "manifest.yaml")
	if err := os.WriteFile(flippedPath, flipped, 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := verify("cosign.pub", flippedPath); err == nil || strings.Contains(out, "Verified OK") {
		t.Errorf("openssl accepted a changed manifest: %s", out)
	}
	// openssl's DER of the key hashes to our fingerprint.
	der, err := exec.Command("openssl", "pkey", "-pubin", "-in", filepath.Join(sigstoreFixtures, "cosign.pub"), "-outform", "DER").Output()
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(der)
	if _, fp := sigstoreFixtureKey(t, "cosign.pub"); fp != "sha256:"+hex.EncodeToString(sum[:]) {
		t.Errorf("fingerprint %s, openssl DER hashes to %x", fp, sum)
	}
}

// FuzzSigstoreBundle: no input may panic, every error wraps exactly one
// sentinel, and nothing but the signed manifest verifies (we hold no
// private key, so anything else would be a forgery or a bug).
func FuzzSigstoreBundle(f *testing.F) {
	bundle := sigstoreFixture(f, "manifest.yaml.sigstore.json")
	manifest := sigstoreFixture(f, "manifest.yaml")
	trusted, _ := sigstoreFixtureKey(f, "cosign.pub")
	other, _ := sigstoreFixtureKey(f, "other.pub")
	keys := []*ecdsa.PublicKey{other, trusted}
	f.Add(bundle, manifest)
	f.Add(bundle, []byte{})
	f.Add([]byte{}, manifest)
	f.Fuzz(func(t *testing.T, bundle, message []byte) {
		i, err := verifySigstoreBundle(bundle, message, keys)
		if err == nil {
			if i != 1 || !bytes.Equal(message, manifest) {
				t.Fatalf("verified index %d for a %d-byte message", i, len(message))
			}
			return
		}
		if i != -1 {
			t.Fatalf("index %d with error %v", i, err)
		}
		if errors.Is(err, errSigFormat) == errors.Is(err, errSigInvalid) {
			t.Fatalf("error wraps neither or both sentinels: %v", err)
		}
	})
}
