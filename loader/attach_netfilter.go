package loader

import (
	"fmt"
	"math"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
)

// NetfilterAttach attaches a netfilter program to a hook of the IPv4 or
// IPv6 stack through a netfilter link (Linux 6.4+). Priority orders it
// among the hook's other users; the kernel reserves the extreme values.
//
//	attach: {netfilter: {family: ipv4, hook: local_in, priority: -128}}
type NetfilterAttach struct {
	Family   string `yaml:"family" json:"family"`
	Hook     string `yaml:"hook" json:"hook"`
	Priority int32  `yaml:"priority" json:"priority"`
}

var nfFamilies = map[string]link.NetfilterProtocolFamily{
	"ipv4": link.NetfilterProtoIPv4,
	"ipv6": link.NetfilterProtoIPv6,
}

var nfHooks = map[string]link.NetfilterInetHook{
	"prerouting":  link.NetfilterInetPreRouting,
	"local_in":    link.NetfilterInetLocalIn,
	"forward":     link.NetfilterInetForward,
	"local_out":   link.NetfilterInetLocalOut,
	"postrouting": link.NetfilterInetPostRouting,
}

func (a *NetfilterAttach) kind() string { return "netfilter" }

func (a *NetfilterAttach) fits(spec *ebpf.ProgramSpec) error {
	return typeIn(a.kind(), spec, ebpf.Netfilter)
}

func (a *NetfilterAttach) check() error {
	if _, ok := nfFamilies[a.Family]; !ok {
		return fmt.Errorf("%w: netfilter family %q: use ipv4 or ipv6", ErrBadAttach, a.Family)
	}
	if _, ok := nfHooks[a.Hook]; !ok {
		return fmt.Errorf("%w: netfilter hook %q: use prerouting, local_in, forward, local_out or postrouting", ErrBadAttach, a.Hook)
	}
	if a.Priority == math.MinInt32 || a.Priority == math.MaxInt32 {
		return fmt.Errorf("%w: netfilter priority %d is reserved by the kernel", ErrBadAttach, a.Priority)
	}
	return nil
}

func (a *NetfilterAttach) attach(prog *ebpf.Program, _ *ebpf.ProgramSpec) (link.Link, error) {
	return link.AttachNetfilter(link.NetfilterOptions{
		Program:        prog,
		ProtocolFamily: nfFamilies[a.Family],
		Hook:           nfHooks[a.Hook],
		Priority:       a.Priority,
	})
}

func (a *NetfilterAttach) target(*ebpf.ProgramSpec) string {
	return fmt.Sprintf("%s %s priority %d", a.Family, a.Hook, a.Priority)
}
