package e2e

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const cgroup2Root = "/sys/fs/cgroup/unified"

// newCgroup creates a child cgroup v2 directory, removed in cleanup.
func newCgroup(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(cgroup2Root, fmt.Sprintf("bpfload-e2e-%d-%d", os.Getpid(), nextSerial()))
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatalf("create cgroup: %v", err)
	}
	t.Cleanup(func() {
		// A process may linger for a moment after it was reaped.
		deadline := time.Now().Add(3 * time.Second)
		for {
			err := os.Remove(dir)
			if err == nil || os.IsNotExist(err) {
				return
			}
			if time.Now().After(deadline) {
				t.Errorf("remove cgroup %s: %v", dir, err)
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
	return dir
}

// echoInCgroup starts a bash in cgroup dir that connects to a TCP listener
// on loopback and echoes n lines back, so its socket, created inside the
// cgroup, receives n data segments. It waits for the exchange to finish.
func echoInCgroup(t *testing.T, dir string, n int) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	script := fmt.Sprintf(`echo $$ > %s/cgroup.procs || exit 1
exec 3<>/dev/tcp/127.0.0.1/%d || exit 1
for i in $(seq %d); do read -r l <&3 || exit 1; echo "$l" >&3; done`, dir, port, n)
	cmd := exec.Command("bash", "-c", script)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := false
	t.Cleanup(func() {
		if !done {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	_ = ln.(*net.TCPListener).SetDeadline(time.Now().Add(10 * time.Second))
	conn, err := ln.Accept()
	if err != nil {
		t.Fatalf("accept from the process in the cgroup: %v", err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	rd := bufio.NewReader(conn)
	for i := 0; i < n; i++ {
		if _, err := fmt.Fprintf(conn, "ping %d\n", i); err != nil {
			t.Fatal(err)
		}
		if _, err := rd.ReadString('\n'); err != nil {
			t.Fatalf("echo %d: %v", i, err)
		}
	}
	err = cmd.Wait()
	done = true
	if err != nil {
		t.Fatalf("process in the cgroup: %v", err)
	}
}

// A cgroup_skb ingress program counts the packets a process in the cgroup
// receives over loopback.
func TestCgroupSKBCountsIngress(t *testing.T) {
	e := newEnv(t)
	cg := newCgroup(t)
	m := e.manifest("cg.yaml", "cgskb", "net.bpf.o", `
capabilities: [CAP_BPF, CAP_NET_ADMIN]
programs:
  - name: allow_ingress
    attach: {cgroup: {path: `+cg+`}}
`)
	rep := e.mustLoad(m)
	if len(rep.Programs) != 1 || rep.Programs[0].Type != "cgroup_skb" || rep.Programs[0].LinkPin == "" {
		t.Fatalf("unexpected report: %+v", rep.Programs)
	}
	// BPF_CGROUP_INET_INGRESS is 0, the same value as "no attach type".
	if strings.Contains(rep.Programs[0].Attach, "None") {
		t.Errorf("attach point shown as %q: the hook is ingress, not None", rep.Programs[0].Attach)
	}
	pin := filepath.Join(e.pinRoot, "cgskb", "maps", "cg_packets")
	before := counter(t, pin)
	echoInCgroup(t, cg, 5)
	waitCounter(t, pin, before+5)

	if r := e.run("unload", "cgskb"); r.code != 0 {
		t.Fatalf("unload: exit %d\n%s", r.code, r.stderr)
	}
	e.assertNothingLoaded()
}

// Linux loads a cgroup_skb program with CAP_BPF alone but refuses to
// attach it without CAP_NET_ADMIN; bpfload names that capability and
// leaves nothing behind.
func TestCgroupSKBWithoutNetAdmin(t *testing.T) {
	e := newEnv(t)
	cg := newCgroup(t)
	m := e.manifest("cg.yaml", "cgskb", "net.bpf.o", `
capabilities: [CAP_BPF]
programs:
  - name: allow_ingress
    attach: {cgroup: {path: `+cg+`}}
`)
	r := e.mustFail(m, 4, "BPFLOAD-E031")
	wantFailure(t, r, 4, "BPFLOAD-E031", "CAP_NET_ADMIN", "allow_ingress", "attach cgroup")
}
