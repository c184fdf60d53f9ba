package caps

import (
	"os"
	"testing"

	"kernel.org/pub/linux/libs/security/libcap/cap"
)

// A raise and drop round trip on every thread, with the read-backs from
// /proc. The rest of the permitted set is kept as a reserve, so that the
// round trip can repeat in one process, and the bounding set is left as it
// is (a load shrinks it once per process).
func BenchmarkRaiseDropRoundTrip(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Skip("needs root")
	}
	p, err := Permitted()
	if err != nil {
		b.Fatal(err)
	}
	want := Of(cap.BPF, cap.PERFMON)
	reserve := p.Minus(want)
	if !p.Has(want) {
		b.Skip("needs CAP_BPF and CAP_PERFMON")
	}
	for i := 0; i < b.N; i++ {
		if _, err := RaiseObserved(want, reserve|want); err != nil {
			b.Fatal(err)
		}
		if _, err := DropObserved(reserve | want); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkObserve(b *testing.B) {
	for i := 0; i < b.N; i++ {
		if _, err := Observe(); err != nil {
			b.Fatal(err)
		}
	}
}
