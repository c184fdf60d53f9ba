package policy

import (
	"crypto/sha256"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func BenchmarkManifestDecode(b *testing.B) {
	raw := []byte(good)
	for i := 0; i < b.N; i++ {
		if _, err := ParseManifest("m.yaml", raw); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkTrustPolicyDecode(b *testing.B) {
	raw := []byte(fuzzPolicy)
	for i := 0; i < b.N; i++ {
		if _, err := ParseTrustPolicy("p.yaml", raw); err != nil {
			b.Fatal(err)
		}
	}
}

// Verify: read the signature file, check it, match the rule.
func BenchmarkVerifySSHSignature(b *testing.B) {
	t := &testing.T{}
	f := newFixture(t, "")
	f.sign("platform", "m.yaml.sig")
	p := f.policy(baseRule, "")
	m, err := ReadManifest(f.manifest)
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := p.Verify(m, VerifyOptions{Now: now}); err != nil {
			b.Fatal(err)
		}
	}
}

// Digest of a 1 MiB object, read once beneath its directory.
func BenchmarkObjectDigest(b *testing.B) {
	dir := b.TempDir()
	data := make([]byte, 1<<20)
	if err := os.WriteFile(filepath.Join(dir, "x.o"), data, 0o644); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	for i := 0; i < b.N; i++ {
		got, err := readBeneath(dir, "x.o", MaxObjectSize)
		if err != nil {
			b.Fatal(err)
		}
		_ = sha256.Sum256(got)
	}
}
