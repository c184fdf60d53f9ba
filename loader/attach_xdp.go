package loader

import (
	"fmt"
	"net"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
)

// XDPAttach attaches an XDP program to a network interface through a BPF
// link (Linux 5.9+), which needs no capability beyond loading the program.
// Mode is generic, driver or offload; empty lets the kernel choose (driver
// where the driver supports it, else generic).
//
//	attach: {xdp: {interface: eth0, mode: generic}}
type XDPAttach struct {
	Interface string `yaml:"interface" json:"interface"`
	Mode      string `yaml:"mode,omitempty" json:"mode,omitempty"`
}

var xdpModes = map[string]link.XDPAttachFlags{
	"":        0,
	"generic": link.XDPGenericMode,
	"driver":  link.XDPDriverMode,
	"offload": link.XDPOffloadMode,
}

func (a *XDPAttach) kind() string { return "xdp" }

func (a *XDPAttach) fits(spec *ebpf.ProgramSpec) error {
	return typeIn(a.kind(), spec, ebpf.XDP)
}

func (a *XDPAttach) check() error {
	if _, ok := xdpModes[a.Mode]; !ok {
		return fmt.Errorf("%w: xdp mode %q: use generic, driver or offload (or leave it out)", ErrBadAttach, a.Mode)
	}
	_, err := interfaceIndex("xdp", a.Interface)
	return err
}

func (a *XDPAttach) attach(prog *ebpf.Program, _ *ebpf.ProgramSpec) (link.Link, error) {
	idx, err := interfaceIndex("xdp", a.Interface)
	if err != nil {
		return nil, err
	}
	return link.AttachXDP(link.XDPOptions{Program: prog, Interface: idx, Flags: xdpModes[a.Mode]})
}

func (a *XDPAttach) target(*ebpf.ProgramSpec) string {
	if a.Mode == "" {
		return a.Interface
	}
	return fmt.Sprintf("%s (%s)", a.Interface, a.Mode)
}

// interfaceIndex resolves an interface name in bpfload's network namespace.
func interfaceIndex(kind, name string) (int, error) {
	if name == "" {
		return 0, fmt.Errorf("%w: %s needs interface: the network interface name", ErrBadAttach, kind)
	}
	ifc, err := net.InterfaceByName(name)
	if err != nil {
		return 0, fmt.Errorf("%w: %s interface %q: %v (list interfaces with `ip link`)", ErrAttachTarget, kind, name, err)
	}
	return ifc.Index, nil
}
