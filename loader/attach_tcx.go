package loader

import (
	"fmt"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
)

// TCXAttach attaches a sched_cls program to the ingress or egress of a
// network interface through a tcx link (Linux 6.6+), which needs no
// capability beyond loading the program.
//
//	attach: {tcx: {interface: eth0, direction: ingress}}
type TCXAttach struct {
	Interface string `yaml:"interface" json:"interface"`
	Direction string `yaml:"direction" json:"direction"`
}

func (a *TCXAttach) kind() string { return "tcx" }

func (a *TCXAttach) fits(spec *ebpf.ProgramSpec) error {
	return typeIn(a.kind(), spec, ebpf.SchedCLS)
}

func (a *TCXAttach) attachType() (ebpf.AttachType, error) {
	switch a.Direction {
	case "ingress":
		return ebpf.AttachTCXIngress, nil
	case "egress":
		return ebpf.AttachTCXEgress, nil
	}
	return 0, fmt.Errorf("%w: tcx direction %q: use ingress or egress", ErrBadAttach, a.Direction)
}

func (a *TCXAttach) check() error {
	if _, err := a.attachType(); err != nil {
		return err
	}
	_, err := interfaceIndex("tcx", a.Interface)
	return err
}

func (a *TCXAttach) attach(prog *ebpf.Program, _ *ebpf.ProgramSpec) (link.Link, error) {
	at, err := a.attachType()
	if err != nil {
		return nil, err
	}
	idx, err := interfaceIndex("tcx", a.Interface)
	if err != nil {
		return nil, err
	}
	return link.AttachTCX(link.TCXOptions{Program: prog, Interface: idx, Attach: at})
}

func (a *TCXAttach) target(*ebpf.ProgramSpec) string { return a.Interface + " " + a.Direction }
