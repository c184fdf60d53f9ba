package loader

import (
	"bytes"
	"fmt"
	"sort"
	"strings"

	"github.com/cilium/ebpf"
)

// Guessed is a program of an object with the attach its ELF section
// suggests. Placeholder is set when a target (an interface, a cgroup) must
// be filled in by hand.
type Guessed struct {
	Program
	Type        string
	Section     string
	Placeholder string
}

// GuessPrograms lists every program of an object, sorted by name, each with
// the attach its ELF section suggests: tracepoint/G/N attaches to that
// tracepoint, xdp to an interface, cgroup_skb/ingress to a cgroup, and so
// on. Targets the section cannot name get placeholders.
func GuessPrograms(object []byte) ([]Guessed, error) {
	spec, err := ebpf.LoadCollectionSpecFromReader(bytesReader(object))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadObject, err)
	}
	var out []Guessed
	for _, name := range sortedKeys(spec.Programs) {
		ps := spec.Programs[name]
		g := Guessed{Program: Program{Name: name}, Type: TypeName(ps.Type), Section: ps.SectionName}
		g.Attach, g.Placeholder = guessAttach(ps)
		out = append(out, g)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func guessAttach(ps *ebpf.ProgramSpec) (Attach, string) {
	sec := ps.SectionName
	_, rest, _ := strings.Cut(sec, "/")
	switch ps.Type {
	case ebpf.TracePoint:
		if strings.Count(rest, "/") == 1 {
			tp := TracepointAttach(rest)
			return Attach{Tracepoint: &tp}, ""
		}
		return Attach{None: true}, "section " + sec + " names no GROUP/NAME tracepoint"
	case ebpf.RawTracepoint, ebpf.RawTracepointWritable:
		if ps.AttachTo != "" {
			rt := RawTracepointAttach(ps.AttachTo)
			return Attach{RawTracepoint: &rt}, ""
		}
	case ebpf.Tracing:
		return Attach{Tracing: &TracingAttach{}}, ""
	case ebpf.LSM:
		return Attach{LSM: &LSMAttach{}}, ""
	case ebpf.Kprobe:
		ret := strings.HasPrefix(sec, "kretprobe") || strings.HasPrefix(sec, "uretprobe")
		if strings.HasPrefix(sec, "uprobe") || strings.HasPrefix(sec, "uretprobe") {
			// libbpf's SEC("uprobe/BINARY:SYMBOL").
			if bin, sym, ok := strings.Cut(ps.AttachTo, ":"); ok && bin != "" && sym != "" {
				return Attach{Uprobe: &UprobeAttach{Binary: bin, Symbol: sym, Return: ret}}, ""
			}
			return Attach{Uprobe: &UprobeAttach{Binary: "/CHANGE/ME/binary", Symbol: "CHANGE_ME", Return: ret}}, "set the uprobe's binary and symbol"
		}
		if ps.AttachTo != "" {
			return Attach{Kprobe: &KprobeAttach{Symbol: ps.AttachTo, Return: ret}}, ""
		}
		return Attach{Kprobe: &KprobeAttach{Symbol: "CHANGE_ME", Return: ret}}, "set the kprobe's symbol"
	case ebpf.XDP:
		return Attach{XDP: &XDPAttach{Interface: "eth0"}}, "set the XDP interface"
	case ebpf.SchedCLS:
		dir := "ingress"
		if ps.AttachType == ebpf.AttachTCXEgress || strings.Contains(sec, "egress") {
			dir = "egress"
		}
		return Attach{TCX: &TCXAttach{Interface: "eth0", Direction: dir}}, "set the tcx interface"
	case ebpf.CGroupSKB, ebpf.CGroupSock, ebpf.CGroupSockAddr, ebpf.CGroupSockopt, ebpf.CGroupSysctl, ebpf.CGroupDevice, ebpf.SockOps:
		return Attach{Cgroup: &CgroupAttach{Path: "/sys/fs/cgroup"}}, "set the cgroup path"
	case ebpf.SkLookup:
		return Attach{SkLookup: &SkLookupAttach{Netns: "/proc/self/ns/net"}}, ""
	case ebpf.Netfilter:
		return Attach{Netfilter: &NetfilterAttach{Family: "ipv4", Hook: "local_in", Priority: -128}}, "check the netfilter family, hook and priority"
	}
	return Attach{None: true}, ""
}

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }
