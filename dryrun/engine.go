package dryrun

import (
	"context"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/bpfload/bpfload/caps"
	"github.com/bpfload/bpfload/diag"
	"github.com/bpfload/bpfload/loader"
	"github.com/bpfload/bpfload/rules"
)

// Candidates are the capabilities a dry-run may put in a set.
var Candidates = mustParse("CAP_BPF", "CAP_PERFMON", "CAP_NET_ADMIN", "CAP_SYS_ADMIN", "CAP_SYS_BOOT",
	"CAP_SYS_RESOURCE", "CAP_MAC_ADMIN", "CAP_DAC_READ_SEARCH")

// Input is what to dry-run.
type Input struct {
	Object    []byte
	Programs  []loader.Program // attach targets as the manifest gives them
	PinMaps   []string
	Constants map[string]any
	Maps      []loader.MapSetting
	// Manifest is the manifest's capability list, if a manifest was given.
	Manifest    caps.Set
	HasManifest bool
	// PredictOnly names programs whose attach cannot be tried (its target
	// is a placeholder); their attach needs are predicted only.
	PredictOnly []string
	// Source is passed to trial children, which may check it.
	Source Source
	// Ceiling, if not zero, bounds every trial's set (a privileged
	// bpfload never raises more than the policy's rule allows).
	Ceiling caps.Set
	// Self is the bpfload binary that runs trials ("" = this executable).
	Self    string
	Timeout time.Duration // per trial; 0 = one minute
}

// Result is a dry-run's answer; its JSON form is a contract.
type Result struct {
	Loadable     bool            `json:"loadable"`
	Required     []string        `json:"required_capabilities"`
	Missing      []string        `json:"missing"`
	Superfluous  []string        `json:"superfluous"`
	Programs     []ProgramResult `json:"programs"`
	Blocked      []Blocked       `json:"blocked"`
	Unconfirmed  []string        `json:"unconfirmed"`
	Trials       int             `json:"trials"`
	Predicted    []string        `json:"predicted_capabilities"`
	Kernel       string          `json:"kernel"`
	Environment  diag.Env        `json:"environment"`
	Notes        []string        `json:"notes"`
	ManifestCaps []string        `json:"manifest_capabilities,omitempty"`
}

// ProgramResult is one program's type, attach and the capabilities of the
// required set that it needs, with reasons.
type ProgramResult struct {
	Name         string `json:"name"`
	Type         string `json:"type"`
	Attach       string `json:"attach"`
	Capabilities []Need `json:"capabilities"`
}

// Blocked is a program no capability bpfload can hold lets load or attach.
type Blocked struct {
	Program string `json:"program"`
	Phase   string `json:"phase"`
	Cause   string `json:"cause"`
}

// Run dry-runs in.
func Run(ctx context.Context, in *Input) (*Result, error) {
	plan, err := loader.Prepare(in.request())
	if err != nil {
		return nil, err
	}
	table, err := rules.Load()
	if err != nil {
		return nil, err
	}
	facts := plan.Facts()
	needs := Predict(facts, table)
	predicted := union(needs)

	threads, err := caps.Observe()
	if err != nil {
		return nil, err
	}
	self, err := caps.Uniform(threads)
	if err != nil {
		return nil, err
	}
	held := self.Permitted & Candidates
	if in.Ceiling != 0 {
		held &= in.Ceiling
	}
	env := diag.ProbeEnv()
	e := &engine{held: held, res: &Result{Kernel: env.Kernel, Environment: env, Missing: []string{}, Superfluous: []string{}, Blocked: []Blocked{}, Unconfirmed: []string{}, Notes: []string{}}}
	if e.self = in.Self; e.self == "" {
		if e.self, err = os.Executable(); err != nil {
			return nil, err
		}
	}
	timeout := in.Timeout
	if timeout == 0 {
		timeout = time.Minute
	}
	sc := &scratch{netns: self.Effective.Has(capSysAdmin)}
	if sc.netns {
		if dir, err := newScratchCgroup(); err == nil {
			sc.cgroup = dir
			defer os.Remove(dir)
		} else {
			e.note("no scratch cgroup (%v): cgroup attach is predicted, not tried", err)
		}
	} else {
		e.note("bpfload does not hold CAP_SYS_ADMIN in its effective set, so it cannot make a private network namespace or cgroup: networking attach is predicted, not tried")
	}
	sp := &spawner{self: e.self, netns: sc.netns, timeout: timeout}
	e.run = func(req trialRequest, set caps.Set) (trialResult, error) { return sp.run(ctx, req, set) }
	e.req = trialRequest{Object: in.Object, PinMaps: in.PinMaps, Constants: in.Constants, Maps: in.Maps, Source: in.Source}
	for _, p := range in.Programs {
		tp := trialProgram{Name: p.Name, Attach: p.Attach, None: p.Attach.None}
		if slices.Contains(in.PredictOnly, p.Name) {
			tp.Attach, tp.None = loader.Attach{}, true
			e.note("program %s: attach target is a placeholder, so its attach is predicted, not tried", p.Name)
		}
		e.req.Programs = append(e.req.Programs, tp)
	}
	e.predictOnly = sc.retarget(e.req.Programs)
	// The targets trials use for real must exist: say so now, not as a
	// trial's failure.
	check := &loader.Request{Object: in.Object, PinMaps: in.PinMaps, Constants: in.Constants, Maps: in.Maps}
	for _, p := range e.req.Programs {
		a := p.Attach
		a.None = p.None
		check.Programs = append(check.Programs, loader.Program{Name: p.Name, Attach: a})
	}
	if _, err := loader.Prepare(check); err != nil {
		return nil, err
	}
	for _, name := range e.predictOnly {
		e.note("program %s: attach is predicted, not tried (no scratch target)", name)
	}

	// Attach needs of programs whose attach cannot be tried stay in the
	// set unproven: no trial can show them unneeded.
	for _, f := range facts {
		if !slices.Contains(in.PredictOnly, f.Name) && !slices.Contains(e.predictOnly, f.Name) {
			continue
		}
		for _, n := range needs[f.Name] {
			if n.Phase == "attach" {
				e.pinned |= parseCaps([]string{n.Capability})
			}
		}
	}
	if e.pinned != 0 {
		e.note("%s: needed to attach programs whose attach was not tried; predicted, not confirmed", e.pinned)
	}
	e.needs = needs
	required, err := e.search(predicted)
	if err != nil {
		return nil, err
	}
	r := e.res
	r.Trials = e.trials
	r.Predicted = predicted.Names()
	r.Required = required.Names()
	r.Loadable = len(r.Blocked) == 0
	if unproven := required.Minus(held) | (required & e.pinned); unproven != 0 {
		r.Unconfirmed = unproven.Names()
	}
	for _, f := range facts {
		pr := ProgramResult{Name: f.Name, Type: f.Type, Attach: strings.TrimSpace(f.AttachKind + " " + f.AttachPoint), Capabilities: []Need{}}
		for _, n := range needs[f.Name] {
			if c, _ := caps.Parse([]string{n.Capability}); required.Has(c) {
				pr.Capabilities = append(pr.Capabilities, n)
			}
		}
		pr.Capabilities = append(pr.Capabilities, e.evidence[f.Name]...)
		pr.Capabilities = dedupeByCap(pr.Capabilities)
		r.Programs = append(r.Programs, pr)
	}
	if in.HasManifest {
		r.ManifestCaps = in.Manifest.Names()
		r.Missing = required.Minus(in.Manifest).Names()
		r.Superfluous = in.Manifest.Minus(required).Names()
	}
	return r, nil
}

type engine struct {
	self     string
	held     caps.Set
	run      func(trialRequest, caps.Set) (trialResult, error) // one trial load
	trials   int
	limit    int // trials allowed, fixed at the first
	req      trialRequest
	res      *Result
	evidence map[string][]Need // learned from failed trials, by program
	// pinned capabilities are predicted for attaches no trial can make.
	pinned      caps.Set
	predictOnly []string
	needs       map[string][]Need // predicted, by program
}

func (e *engine) note(format string, args ...any) {
	e.res.Notes = append(e.res.Notes, fmt.Sprintf(format, args...))
}

// maxTrials bounds a dry-run: two trials per blocked program, one per
// candidate capability tried in and out, and some slack. A search that
// needs more has gone wrong.
func (e *engine) maxTrials() int {
	return 2*len(e.req.Programs) + 2*len(Candidates.Values()) + 16
}

// trial runs the programs left with set, as far as bpfload holds it. For
// a CAP_SYS_ADMIN it does not hold, it tries CAP_BPF and CAP_PERFMON, the
// part of CAP_SYS_ADMIN's powers that the other programs may need.
func (e *engine) trial(set caps.Set) (trialResult, error) {
	if e.limit == 0 {
		e.limit = e.maxTrials()
	}
	if e.trials >= e.limit {
		return trialResult{}, fmt.Errorf("dry-run gave up after %d trial loads without converging", e.limit)
	}
	e.trials++
	actual := set & e.held
	if set.Has(capSysAdmin) && !e.held.Has(capSysAdmin) {
		actual |= (capBPF | capPerfmon) & e.held
	}
	return e.run(e.req, actual)
}

// pinNeeds keeps a program's predicted needs in the set unproven: the
// program is out of the trials, so no trial can show them unneeded.
func (e *engine) pinNeeds(program string) {
	for _, n := range e.needs[program] {
		e.pinned |= parseCaps([]string{n.Capability})
	}
}

// search proves a set: first the prediction (adding what failures name),
// then each capability dropped once. Programs that fail even with every
// candidate capability bpfload holds are set aside as blocked.
func (e *engine) search(predicted caps.Set) (caps.Set, error) {
	e.evidence = map[string][]Need{}
	set := predicted
	for {
		if len(e.req.Programs) == 0 {
			return 0, nil
		}
		r, err := e.trial(set)
		if err != nil {
			return 0, err
		}
		if r.OK {
			break
		}
		if miss := parseCaps(r.Missing); miss != 0 && miss.Minus(e.held) != 0 && r.Program != "" {
			// Needed but not held: it can be predicted, never tried.
			e.note("program %s needs %s, which bpfload does not hold: predicted, not confirmed", r.Program, miss.Minus(e.held))
			set = normalise(set | miss)
			e.pinNeeds(r.Program)
			e.pinned |= miss
			e.drop(r.Program)
			continue
		}
		if miss := parseCaps(r.Missing).Minus(set); miss != 0 && miss&Candidates == miss {
			// The failure names a capability the prediction lacked.
			e.note("the prediction lacked %s: %s", miss, r.Cause)
			set = normalise(set | miss)
			continue
		}
		full := e.held
		rf, err := e.trial(full)
		if err != nil {
			return 0, err
		}
		if !rf.OK && rf.Program == r.Program && rf.Program != "" {
			e.block(rf)
			continue
		}
		if !rf.OK {
			// A different failure with more capabilities: look at that one next.
			if rf.Program == "" {
				return 0, fmt.Errorf("trial failed before any program: %s", rf.Message)
			}
			e.block(rf)
			continue
		}
		// Every held candidate works where the prediction does not:
		// shed from the full set what is not needed.
		e.note("the prediction %s failed (%s); searched down from %s", set, r.Message, full)
		set = full
		for _, c := range (full.Minus(predicted)).Values() {
			cs := caps.Of(c)
			if rr, err := e.trial(set.Minus(cs)); err != nil {
				return 0, err
			} else if rr.OK {
				set = set.Minus(cs)
			}
		}
		break
	}
	set = normalise(set | e.pinned)
	// Minimality: each capability must be necessary. Dropping CAP_SYS_ADMIN
	// can bring CAP_BPF and CAP_PERFMON back, so start over when the set
	// changes; every capability is tried once.
	tried := caps.Set(0)
	for again := true; again; {
		again = false
		for _, c := range set.Values() {
			cs := caps.Of(c)
			if tried.Has(cs) || !e.held.Has(cs) || e.pinned.Has(cs) {
				continue // untestable ones are reported as unconfirmed
			}
			tried |= cs
			without := set.Minus(cs)
			if cs == capSysAdmin {
				without |= (capBPF | capPerfmon) & e.held
			}
			r, err := e.trial(without)
			if err != nil {
				return 0, err
			}
			if r.OK {
				set = normalise(without)
				e.note("%s was predicted but is not needed", caps.Name(c))
				again = true
				break
			}
			if r.Program != "" {
				e.evidence[r.Program] = append(e.evidence[r.Program], Need{Capability: caps.Name(c), Phase: r.Phase,
					Reason: "without it, the kernel refused: " + firstNonEmpty(r.Cause, r.Message)})
			}
		}
	}
	return set, nil
}

// block sets aside a program that fails whatever capabilities are held.
func (e *engine) block(r trialResult) {
	cause := firstNonEmpty(r.Cause, r.Message)
	if r.Hint != "" {
		cause += "; " + r.Hint
	}
	if len(r.Log) > 0 && r.Code == diag.EVerifier.ID {
		cause += " (verifier log ends: " + strings.Join(r.Log, " / ") + ")"
	}
	if b := diag.ProbeEnv().BlockersFor(cause); len(b) > 0 && r.Code == diag.ERefused.ID {
		cause += "; on this host: " + strings.Join(b, "; ")
	}
	e.res.Blocked = append(e.res.Blocked, Blocked{Program: r.Program, Phase: r.Phase, Cause: cause})
	e.drop(r.Program)
}

// drop takes a program out of further trials.
func (e *engine) drop(program string) {
	var keep []trialProgram
	for _, p := range e.req.Programs {
		if p.Name != program {
			keep = append(keep, p)
		}
	}
	e.req.Programs = keep
}

func parseCaps(names []string) caps.Set {
	s, _ := caps.Parse(names)
	return s
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}

// dedupeByCap keeps the first reason for each capability and phase.
func dedupeByCap(needs []Need) []Need {
	seen := map[string]bool{}
	out := []Need{}
	for _, n := range needs {
		k := n.Capability + "/" + n.Phase
		if !seen[k] {
			seen[k] = true
			out = append(out, n)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Capability < out[j].Capability })
	return out
}

// Predicted returns the capabilities the rules table predicts for in,
// without any trial.
func Predicted(in *Input) []string {
	plan, err := loader.Prepare(in.request())
	if err != nil {
		return nil
	}
	return union(Predict(plan.Facts(), rules.MustLoad())).Names()
}

func (in *Input) request() *loader.Request {
	return &loader.Request{Object: in.Object, Programs: in.Programs, PinMaps: in.PinMaps, Constants: in.Constants, Maps: in.Maps, NoTargetCheck: true}
}
