package caps

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"testing"

	"kernel.org/pub/linux/libs/security/libcap/cap"
)

func TestParse(t *testing.T) {
	s, err := Parse([]string{"CAP_BPF", "cap_perfmon", "NET_ADMIN"})
	if err != nil {
		t.Fatal(err)
	}
	if got := s.String(); got != "CAP_BPF,CAP_NET_ADMIN,CAP_PERFMON" {
		t.Errorf("String() = %q", got)
	}
	if s != Of(cap.BPF, cap.PERFMON, cap.NET_ADMIN) {
		t.Errorf("Parse = %x", uint64(s))
	}
	if got := s.Lower(); got != "cap_bpf,cap_net_admin,cap_perfmon" {
		t.Errorf("Lower() = %q", got)
	}
}

func TestParseRejects(t *testing.T) {
	for _, bad := range []string{"CAP_FOO", "39", "", "CAP_", "BPF "} {
		_, err := Parse([]string{"CAP_BPF", bad})
		if !errors.Is(err, ErrUnknownCapability) || !strings.Contains(err.Error(), bad) {
			t.Errorf("Parse(%q): %v, want ErrUnknownCapability naming it", bad, err)
		}
	}
}

func TestSetOps(t *testing.T) {
	a := Of(cap.BPF, cap.PERFMON)
	b := Of(cap.BPF)
	if !a.Has(b) || b.Has(a) {
		t.Error("Has")
	}
	if a.Minus(b) != Of(cap.PERFMON) {
		t.Error("Minus")
	}
	if Set(0).String() != "none" || len(Set(0).Names()) != 0 {
		t.Error("empty set")
	}
}

func TestParseStatus(t *testing.T) {
	status := "Name:\tx\nCapInh:\t0000000000000000\nCapPrm:\t000000c000000000\nCapEff:\t000000c000000000\nCapBnd:\t000001ffffffffff\nCapAmb:\t0000000000000000\nNoNewPrivs:\t1\n"
	th, err := ParseStatus([]byte(status))
	if err != nil {
		t.Fatal(err)
	}
	if th.Effective != Of(cap.BPF, cap.PERFMON) || th.Permitted != th.Effective || !th.NoNewPrivs || th.Inheritable != 0 {
		t.Errorf("ParseStatus = %+v", th)
	}
	if _, err := ParseStatus([]byte("CapInh:\t0\n")); err == nil {
		t.Error("a status without all five Cap lines must fail")
	}
	if _, err := ParseStatus([]byte(strings.Replace(status, "000000c000000000", "zz", 1))); err == nil {
		t.Error("a bad hex value must fail")
	}
}

func TestUniform(t *testing.T) {
	a := Thread{TID: 1, Effective: Of(cap.BPF)}
	b := Thread{TID: 2, Effective: Of(cap.BPF)}
	if _, err := Uniform([]Thread{a, b}); err != nil {
		t.Fatal(err)
	}
	b.Ambient = Of(cap.BPF)
	if _, err := Uniform([]Thread{a, b}); !errors.Is(err, ErrThreadMismatch) {
		t.Fatalf("Uniform with a differing thread: %v", err)
	}
}

func TestGrantHints(t *testing.T) {
	h := strings.Join(GrantHints(Of(cap.BPF, cap.PERFMON), "/usr/local/bin/bpfload"), "\n")
	for _, want := range []string{"setcap cap_bpf,cap_perfmon+p /usr/local/bin/bpfload", "--cap-add BPF --cap-add PERFMON",
		"add: [BPF, PERFMON]", "AmbientCapabilities=CAP_BPF CAP_PERFMON"} {
		if !strings.Contains(h, want) {
			t.Errorf("hints lack %q:\n%s", want, h)
		}
	}
}

// The capability changes are irreversible, so they run in a child process:
// the test binary re-executed with BPFLOAD_CAPS_CHILD set.
const childEnv = "BPFLOAD_CAPS_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		if err := child(); err != nil {
			fmt.Println("FAIL:", err)
			os.Exit(1)
		}
		fmt.Println("OK")
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// child spreads goroutines over many OS threads, raises a set, checks every
// thread, starts more threads, checks again, drops, checks again.
func child() error {
	stop := make(chan struct{})
	var ready sync.WaitGroup
	for i := 0; i < 8; i++ {
		ready.Add(1)
		go func() {
			runtime.LockOSThread() // pins the goroutine: a thread of its own
			ready.Done()
			<-stop
		}()
	}
	ready.Wait()
	defer close(stop)
	want := Of(cap.BPF, cap.PERFMON)
	if err := Raise(want); err != nil {
		return fmt.Errorf("raise: %w", err)
	}
	threads, err := Observe()
	if err != nil {
		return err
	}
	if len(threads) < 9 {
		return fmt.Errorf("only %d threads, want at least 9", len(threads))
	}
	for _, th := range threads {
		if th.Effective != want || th.Permitted != want || th.Inheritable != want || th.Ambient != want {
			return fmt.Errorf("thread %d after raise: %s", th.TID, describe(th))
		}
		if os.Getenv(childEnv) == "bound" && th.Bounding != want {
			return fmt.Errorf("thread %d bounding %s, want %s", th.TID, th.Bounding, want)
		}
	}
	// Threads made after the raise inherit it.
	more := make(chan struct{})
	go func() { runtime.LockOSThread(); <-more }()
	defer close(more)
	if err := Verify(want); err != nil {
		return err
	}
	if err := DropAll(); err != nil {
		return fmt.Errorf("drop: %w", err)
	}
	if err := Verify(0); err != nil {
		return err
	}
	// Dropped for good: raising again must fail before changing anything.
	if err := Raise(want); !errors.Is(err, ErrNotPermitted) {
		return fmt.Errorf("raise after drop: %v, want ErrNotPermitted", err)
	}
	return nil
}

func TestRaiseAndDropOnEveryThread(t *testing.T) {
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("needs root (CI=true: never skipped)")
		}
		t.Skip("needs root")
	}
	if runtime.GOOS != "linux" {
		t.Skip("Linux only")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"=bound", "CGO_ENABLED=0")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "OK") {
		t.Fatalf("child: %v\n%s", err, out)
	}
}
