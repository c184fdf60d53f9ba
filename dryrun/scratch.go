package dryrun

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/bpfload/bpfload/loader"
)

// scratchPrefix names the temporary cgroups, so stale ones can be found.
const scratchPrefix = "bpfload-dryrun-"

// scratch holds the targets a dry-run made for networking programs.
type scratch struct {
	cgroup string // temporary child cgroup, or ""
	netns  bool   // children run in a private netns
}

// cgroup2Mount finds the cgroup v2 mount point.
func cgroup2Mount() string {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		for i, fld := range fields {
			if fld == "-" && i+1 < len(fields) && fields[i+1] == "cgroup2" {
				return fields[4]
			}
		}
	}
	return ""
}

// newScratchCgroup makes an empty child cgroup, after removing stale ones
// left by dry-runs that were killed.
func newScratchCgroup() (string, error) {
	root := cgroup2Mount()
	if root == "" {
		return "", fmt.Errorf("no cgroup v2 mount")
	}
	if ents, err := os.ReadDir(root); err == nil {
		for _, e := range ents {
			pid, ok := strings.CutPrefix(e.Name(), scratchPrefix)
			if n, err := strconv.Atoi(pid); ok && err == nil && syscall.Kill(n, 0) == syscall.ESRCH {
				_ = os.Remove(filepath.Join(root, e.Name()))
			}
		}
	}
	dir := filepath.Join(root, fmt.Sprintf("%s%d", scratchPrefix, os.Getpid()))
	if err := os.Mkdir(dir, 0o755); err != nil {
		return "", err
	}
	return dir, nil
}

// retarget points networking attach requests at scratch targets, so a
// dry-run never touches a real interface, cgroup or namespace. It returns
// the programs whose attach can only be predicted here.
func (s *scratch) retarget(progs []trialProgram) (predictedOnly []string) {
	for i := range progs {
		a := &progs[i].Attach
		switch {
		case a.XDP != nil || a.TCX != nil || a.SkLookup != nil || a.Netfilter != nil:
			if !s.netns {
				predictedOnly = append(predictedOnly, progs[i].Name)
				progs[i].None, progs[i].Attach = true, loader.Attach{}
				continue
			}
			// lo exists in every new network namespace; XDP and tcx links
			// make the same capability checks on it as on any interface.
			if a.XDP != nil {
				a.XDP = &loader.XDPAttach{Interface: "lo", Mode: "generic"}
			}
			if a.TCX != nil {
				a.TCX = &loader.TCXAttach{Interface: "lo", Direction: a.TCX.Direction}
			}
			if a.SkLookup != nil {
				a.SkLookup = &loader.SkLookupAttach{Netns: "/proc/self/ns/net"}
			}
		case a.Cgroup != nil:
			if s.cgroup == "" {
				predictedOnly = append(predictedOnly, progs[i].Name)
				progs[i].None, progs[i].Attach = true, loader.Attach{}
				continue
			}
			a.Cgroup = &loader.CgroupAttach{Path: s.cgroup}
		}
	}
	return predictedOnly
}
