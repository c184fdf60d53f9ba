package dryrun

import (
	"fmt"
	"strings"
	"testing"

	"github.com/bpfload/bpfload/caps"
)

// kernel is a model of the kernel's checks for the search to run against:
// each program needs its set to load and attach (CAP_SYS_ADMIN passing
// every CAP_BPF and CAP_PERFMON check), or is blocked whatever is held.
type kernel struct {
	needs   map[string]caps.Set
	blocked map[string]bool
	trials  []caps.Set
}

func (k *kernel) run(req trialRequest, set caps.Set) (trialResult, error) {
	k.trials = append(k.trials, set)
	held := set
	if held.Has(capSysAdmin) {
		held |= capBPF | capPerfmon
	}
	for _, p := range req.Programs {
		if k.blocked[p.Name] {
			return trialResult{Program: p.Name, Phase: "load", Code: "BPFLOAD-E032", Cause: "not a capability"}, nil
		}
		if miss := k.needs[p.Name].Minus(held); miss != 0 {
			return trialResult{Program: p.Name, Phase: "load", Code: "BPFLOAD-E031", Missing: miss.Names()}, nil
		}
	}
	return trialResult{OK: true}, nil
}

func search(t *testing.T, k *kernel, held, predicted caps.Set, progs ...string) (*engine, caps.Set) {
	t.Helper()
	e := &engine{held: held, run: k.run, res: &Result{}, needs: map[string][]Need{}}
	for _, p := range progs {
		e.req.Programs = append(e.req.Programs, trialProgram{Name: p})
		for _, c := range k.needs[p].Names() {
			e.needs[p] = append(e.needs[p], Need{Capability: c, Phase: "load"})
		}
	}
	set, err := e.search(predicted)
	if err != nil {
		t.Fatal(err)
	}
	return e, set
}

var all = Candidates.Minus(mustParse("CAP_SYS_RESOURCE"))

func TestSearchConfirmsPrediction(t *testing.T) {
	k := &kernel{needs: map[string]caps.Set{"tp": mustParse("CAP_BPF", "CAP_PERFMON")}}
	e, set := search(t, k, all, mustParse("CAP_BPF", "CAP_PERFMON"), "tp")
	if set != mustParse("CAP_BPF", "CAP_PERFMON") || e.trials != 3 {
		t.Errorf("set %s after %d trials, want CAP_BPF,CAP_PERFMON after 3", set, e.trials)
	}
}

func TestSearchAddsWhatFailuresName(t *testing.T) {
	k := &kernel{needs: map[string]caps.Set{"leak": mustParse("CAP_BPF", "CAP_PERFMON")}}
	_, set := search(t, k, all, mustParse("CAP_BPF"), "leak")
	if set != mustParse("CAP_BPF", "CAP_PERFMON") {
		t.Errorf("set %s", set)
	}
}

func TestSearchDropsWhatIsNotNeeded(t *testing.T) {
	k := &kernel{needs: map[string]caps.Set{"sock": mustParse("CAP_BPF")}}
	e, set := search(t, k, all, mustParse("CAP_SYS_ADMIN"), "sock")
	// Dropping CAP_SYS_ADMIN brings CAP_BPF and CAP_PERFMON back; each is
	// then tried, and CAP_PERFMON goes too.
	if set != mustParse("CAP_BPF") {
		t.Errorf("set %s, want CAP_BPF alone; notes %v", set, e.res.Notes)
	}
}

func TestSearchKeepsSysAdminWhenNothingElseSuffices(t *testing.T) {
	k := &kernel{needs: map[string]caps.Set{"uprobe": mustParse("CAP_SYS_ADMIN")}}
	_, set := search(t, k, all, mustParse("CAP_SYS_ADMIN"), "uprobe")
	if set != mustParse("CAP_SYS_ADMIN") {
		t.Errorf("set %s", set)
	}
}

// A CAP_SYS_ADMIN bpfload does not hold must neither loop the search nor
// be dropped as unneeded.
func TestSearchWithoutSysAdminHeld(t *testing.T) {
	k := &kernel{needs: map[string]caps.Set{"uprobe": mustParse("CAP_SYS_ADMIN"), "sock": mustParse("CAP_BPF")}}
	held := mustParse("CAP_BPF", "CAP_PERFMON")
	e, set := search(t, k, held, mustParse("CAP_SYS_ADMIN"), "uprobe", "sock")
	if !set.Has(capSysAdmin) || e.trials > 8 {
		t.Errorf("set %s after %d trials %v", set, e.trials, k.trials)
	}
}

// A program set aside for a capability bpfload lacks keeps what else it
// needs: the search must not shed CAP_PERFMON only it needed.
func TestSearchKeepsNeedsOfUntestablePrograms(t *testing.T) {
	k := &kernel{needs: map[string]caps.Set{
		"xdp_loop": mustParse("CAP_BPF", "CAP_NET_ADMIN", "CAP_PERFMON"),
		"sock":     mustParse("CAP_BPF"),
	}}
	held := mustParse("CAP_BPF", "CAP_PERFMON")
	_, set := search(t, k, held, mustParse("CAP_BPF", "CAP_NET_ADMIN", "CAP_PERFMON"), "xdp_loop", "sock")
	if set != mustParse("CAP_BPF", "CAP_NET_ADMIN", "CAP_PERFMON") {
		t.Errorf("set %s", set)
	}
}

func TestSearchBlocked(t *testing.T) {
	k := &kernel{needs: map[string]caps.Set{"tp": mustParse("CAP_BPF", "CAP_PERFMON"), "fentry": mustParse("CAP_BPF", "CAP_PERFMON")},
		blocked: map[string]bool{"fentry": true}}
	e, set := search(t, k, all, mustParse("CAP_BPF", "CAP_PERFMON"), "fentry", "tp")
	if set != mustParse("CAP_BPF", "CAP_PERFMON") || len(e.res.Blocked) != 1 || e.res.Blocked[0].Program != "fentry" {
		t.Errorf("set %s blocked %+v", set, e.res.Blocked)
	}
	for _, b := range e.res.Blocked {
		if strings.Contains(b.Cause, "CAP_") {
			t.Errorf("a blocked cause names a capability: %s", b.Cause)
		}
	}
}

// A kernel that keeps naming a capability the set already implies (as
// CAP_SYS_ADMIN implies CAP_BPF) cannot make the search run forever.
func TestSearchBounded(t *testing.T) {
	flaky := func(req trialRequest, set caps.Set) (trialResult, error) {
		return trialResult{Program: "p", Missing: []string{"CAP_BPF"}}, nil
	}
	e := &engine{held: all, run: flaky, res: &Result{}, needs: map[string][]Need{}}
	e.req.Programs = []trialProgram{{Name: "p"}}
	_, err := e.search(mustParse("CAP_SYS_ADMIN"))
	if err == nil || !strings.Contains(err.Error(), "without converging") || e.trials != e.limit || e.limit > 40 {
		t.Errorf("search: %v after %d trials, want a stop after %d", err, e.trials, e.limit)
	}
}

// Many blocked programs are many trials, not a search that gave up.
func TestSearchManyBlocked(t *testing.T) {
	k := &kernel{needs: map[string]caps.Set{}, blocked: map[string]bool{}}
	var progs []string
	for i := 0; i < 40; i++ {
		name := fmt.Sprintf("fentry%d", i)
		progs = append(progs, name)
		k.blocked[name] = true
	}
	e, _ := search(t, k, all, mustParse("CAP_BPF", "CAP_PERFMON"), progs...)
	if len(e.res.Blocked) != 40 {
		t.Errorf("%d blocked, want 40", len(e.res.Blocked))
	}
}
