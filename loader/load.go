package loader

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"golang.org/x/sys/unix"
)

// LoadOptions tune Load. A nil *LoadOptions means defaults.
type LoadOptions struct {
	// Jobs is how many programs are verified at once; 0 or 1 loads them
	// one after the other. Maps are always created first.
	Jobs int
	// LogSize is the verifier log buffer size to start with; 0 lets
	// cilium/ebpf choose.
	LogSize int
}

// Loaded holds what Load created. Until Pin succeeds and Close is called,
// the kernel objects live only as long as these descriptors.
type Loaded struct {
	Programs []*LoadedProgram
	Maps     []*LoadedMap

	created   []string // pins and directories this run created, in order
	pinned    bool
	restore   []func() error // undo in-place link updates, on rollback
	exchanged *exchange      // set between PinReplace's exchange and CommitReplace
	oldLinks  []oldLinkRef   // the replaced load's links and programs
	pinOpts   *PinOptions
}

type oldLinkRef struct {
	program string
	*oldLink
}

// LoadedProgram is one loaded (and maybe attached) program.
type LoadedProgram struct {
	Name        string
	Type        string
	ID          uint32
	Tag         string
	AttachKind  string // "none" when not attached
	AttachPoint string
	Pin         string // program pin path, after Pin
	LinkPin     string // link pin path, after Pin
	// Attach describes the attach as records keep it, such as "xdp eth0".
	Attach string
	// Replace says how the program took over from the one it replaced.
	Replace ReplaceOutcome

	prog *ebpf.Program
	link link.Link
}

// LoadedMap is one created map.
type LoadedMap struct {
	Name string
	Type string
	ID   uint32
	Pin  string // empty when the map is not pinned

	m     *ebpf.Map
	toPin bool
}

// Load creates the plan's maps, loads its programs and attaches them, in
// that order. It is the only step that calls bpf() to create objects, so
// the caller raises capabilities around it. On any error everything
// created so far is detached and closed, and the error is a *StepError.
func (p *Plan) Load(opts *LoadOptions) (_ *Loaded, err error) {
	if opts == nil {
		opts = &LoadOptions{}
	}
	l := &Loaded{}
	defer func() {
		if err != nil {
			l.Rollback()
		}
	}()
	// The replaced load's descriptors now belong to l: Close releases them.
	for name, o := range p.old {
		l.oldLinks = append(l.oldLinks, oldLinkRef{name, o})
	}
	p.old = nil
	maps, err := p.createMaps(l)
	if err != nil {
		return nil, err
	}
	if err := p.loadPrograms(l, maps, opts); err != nil {
		return nil, err
	}
	if err := p.populateProgArrays(l, maps); err != nil {
		return nil, err
	}
	for i, pp := range p.programs {
		lp := l.Programs[i]
		if pp.attacher == nil {
			continue
		}
		lk, err := p.attachOrUpdate(pp, lp, l)
		if err != nil {
			return nil, &StepError{Op: OpAttach, Program: pp.name, ProgramType: lp.Type, Section: pp.spec.SectionName,
				AttachKind: pp.attacher.kind(), Target: pp.attacher.target(pp.spec), Err: err}
		}
		lp.link = lk
	}
	return l, nil
}

func (p *Plan) createMaps(l *Loaded) (map[string]*ebpf.Map, error) {
	if len(p.maps) == 0 {
		return map[string]*ebpf.Map{}, nil
	}
	cs := &ebpf.CollectionSpec{Maps: map[string]*ebpf.MapSpec{}, Variables: map[string]*ebpf.VariableSpec{}, Types: p.spec.Types, ByteOrder: p.spec.ByteOrder}
	for name, vs := range p.spec.Variables {
		if slices.Contains(p.maps, vs.SectionName) {
			cs.Variables[name] = vs // only those in the data sections created
		}
	}
	for _, name := range p.maps {
		ms := p.spec.Maps[name].Copy()
		if ms.Type == ebpf.ProgramArray {
			ms.Contents = nil // filled once the programs exist
		}
		cs.Maps[name] = ms
	}
	coll, err := ebpf.NewCollectionWithOptions(cs, ebpf.CollectionOptions{})
	if err != nil {
		name := errMapName(err, p.maps)
		return nil, &StepError{Op: OpMapCreate, Map: name, MapType: p.MapType(name), Err: err}
	}
	pin := map[string]bool{}
	for _, n := range p.pinMaps {
		pin[n] = true
	}
	for _, name := range p.maps {
		m := coll.Maps[name]
		lm := &LoadedMap{Name: name, Type: m.Type().String(), m: m, toPin: pin[name]}
		if info, err := m.Info(); err == nil {
			if id, ok := info.ID(); ok {
				lm.ID = uint32(id)
			}
		}
		l.Maps = append(l.Maps, lm)
	}
	return coll.Maps, nil
}

func (p *Plan) loadPrograms(l *Loaded, maps map[string]*ebpf.Map, opts *LoadOptions) error {
	l.Programs = make([]*LoadedProgram, len(p.programs))
	jobs := opts.Jobs
	if jobs < 1 {
		jobs = 1
	}
	errs := make([]error, len(p.programs))
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		failed bool
	)
	next := make(chan int)
	for w := 0; w < jobs; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				mu.Lock()
				skip := failed
				mu.Unlock()
				if skip {
					continue
				}
				lp, err := p.loadProgram(p.programs[i], maps, opts)
				l.Programs[i] = lp
				if err != nil {
					mu.Lock()
					errs[i], failed = err, true
					mu.Unlock()
				}
			}
		}()
	}
	for i := range p.programs {
		next <- i
	}
	close(next)
	wg.Wait()
	// Keep only the programs that loaded, so Rollback closes exactly those.
	var ok []*LoadedProgram
	for _, lp := range l.Programs {
		if lp != nil {
			ok = append(ok, lp)
		}
	}
	for _, err := range errs {
		if err != nil {
			l.Programs = ok
			return err
		}
	}
	return nil
}

func (p *Plan) loadProgram(pp plannedProgram, maps map[string]*ebpf.Map, opts *LoadOptions) (*LoadedProgram, error) {
	cs := &ebpf.CollectionSpec{
		Programs:  map[string]*ebpf.ProgramSpec{pp.name: pp.spec.Copy()},
		Maps:      map[string]*ebpf.MapSpec{},
		Types:     p.spec.Types,
		ByteOrder: p.spec.ByteOrder,
	}
	repl := map[string]*ebpf.Map{}
	for _, name := range pp.maps {
		cs.Maps[name] = p.spec.Maps[name]
		repl[name] = maps[name]
	}
	coll, err := ebpf.NewCollectionWithOptions(cs, ebpf.CollectionOptions{
		MapReplacements: repl,
		Programs:        ebpf.ProgramOptions{LogSizeStart: uint32(opts.LogSize)},
	})
	if err != nil {
		se := &StepError{Op: OpProgLoad, Program: pp.name, ProgramType: TypeName(pp.spec.Type), Section: pp.spec.SectionName, Err: err}
		var ve *ebpf.VerifierError
		if errors.As(err, &ve) {
			se.VerifierLog = ve.Log
		}
		if name := errMapName(err, pp.maps); name != "" && !strings.HasPrefix(err.Error(), "program ") {
			se.Op, se.Map, se.MapType = OpMapCreate, name, p.MapType(name)
		}
		return nil, se
	}
	prog := coll.DetachProgram(pp.name)
	coll.Close()
	lp := &LoadedProgram{Name: pp.name, Type: TypeName(pp.spec.Type), AttachKind: "none", prog: prog, Attach: attachDescription(pp)}
	if pp.attacher != nil {
		lp.AttachKind = pp.attacher.kind()
		lp.AttachPoint = pp.attacher.target(pp.spec)
	}
	if info, err := prog.Info(); err == nil {
		lp.Tag = info.Tag
		if id, ok := info.ID(); ok {
			lp.ID = uint32(id)
		}
	}
	return lp, nil
}

func (p *Plan) populateProgArrays(l *Loaded, maps map[string]*ebpf.Map) error {
	progs := map[string]*ebpf.Program{}
	for _, lp := range l.Programs {
		progs[lp.Name] = lp.prog
	}
	for _, name := range p.maps {
		ms := p.spec.Maps[name]
		if ms.Type != ebpf.ProgramArray {
			continue
		}
		for _, kv := range ms.Contents {
			pname, ok := kv.Value.(string)
			if !ok || progs[pname] == nil {
				continue // not requested (PartialProgArrays)
			}
			if err := maps[name].Put(kv.Key, progs[pname]); err != nil {
				return &StepError{Op: OpMapPopulate, Map: name, MapType: ms.Type.String(), Err: fmt.Errorf("put program %s: %w", pname, err)}
			}
		}
	}
	return nil
}

// Close releases the descriptors. Pinned objects stay in the kernel; those
// not pinned are freed (links not pinned detach).
func (l *Loaded) Close() {
	taken := map[link.Link]bool{}
	for _, lp := range l.Programs {
		if lp.link != nil {
			taken[lp.link] = true
			lp.link.Close()
		}
		lp.prog.Close()
	}
	for _, o := range l.oldLinks {
		if !taken[o.link] {
			o.link.Close()
		}
		o.oldProg.Close()
	}
	l.oldLinks = nil
	for _, lm := range l.Maps {
		lm.m.Close()
	}
}

// DupMaps duplicates the descriptors of the named maps without
// close-on-exec, so a program this process executes inherits them. It
// returns each map's descriptor number.
func (l *Loaded) DupMaps(names []string) (map[string]int, error) {
	out := map[string]int{}
	for _, n := range names {
		var m *ebpf.Map
		for _, lm := range l.Maps {
			if lm.Name == n {
				m = lm.m
			}
		}
		if m == nil {
			return nil, fmt.Errorf("%w: %s", ErrNoMap, n)
		}
		fd, err := unix.Dup(m.FD())
		if err != nil {
			return nil, fmt.Errorf("duplicate map %s: %w", n, err)
		}
		out[n] = fd
	}
	return out, nil
}
