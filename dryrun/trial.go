package dryrun

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/bpfload/bpfload/caps"
	"github.com/bpfload/bpfload/diag"
	"github.com/bpfload/bpfload/loader"
)

// TrialCommand is the hidden subcommand a trial child runs.
const TrialCommand = "__dryrun-trial"

// trialProgram is one program of a trial; Attach's None is not in its JSON.
type trialProgram struct {
	Name   string        `json:"name"`
	Attach loader.Attach `json:"attach"`
	None   bool          `json:"none"`
}

// trialRequest is what the parent sends a child on stdin.
type trialRequest struct {
	Object       []byte              `json:"object"`
	Programs     []trialProgram      `json:"programs"`
	PinMaps      []string            `json:"pin_maps"`
	Constants    map[string]any      `json:"constants,omitempty"`
	Maps         []loader.MapSetting `json:"maps,omitempty"`
	Capabilities []string            `json:"capabilities"`
	// Source lets a privileged child check the request against the signed
	// manifest it came from.
	Source Source `json:"source"`
}

// Source names the manifest a dry-run came from, and how to verify it.
type Source struct {
	Manifest     string   `json:"manifest,omitempty"`
	Policy       string   `json:"policy,omitempty"`
	Signatures   []string `json:"signatures,omitempty"`
	SignatureDir string   `json:"signature_dir,omitempty"`
	PinRoot      string   `json:"pin_root,omitempty"`
}

// Trial is what a trial child is asked to load: the checker given to
// RunTrial sees it before any capability is raised.
type Trial struct {
	Source       Source
	Object       []byte
	Programs     []loader.Program
	Constants    map[string]any
	Maps         []loader.MapSetting
	PinMaps      []string
	Capabilities caps.Set // what the trial would raise
}

// trialResult is what a child answers on stdout.
type trialResult struct {
	OK      bool     `json:"ok"`
	Program string   `json:"program,omitempty"`
	Map     string   `json:"map,omitempty"`
	Phase   string   `json:"phase,omitempty"` // map, load, attach, setup
	Code    string   `json:"code,omitempty"`
	Message string   `json:"message,omitempty"`
	Cause   string   `json:"cause,omitempty"`
	Missing []string `json:"missing,omitempty"`
	Hint    string   `json:"hint,omitempty"` // the first fix, for refusals no capability fixes
	Log     []string `json:"log,omitempty"`
}

var phases = map[loader.Op]string{loader.OpMapCreate: "map", loader.OpMapPopulate: "map", loader.OpProgLoad: "load", loader.OpAttach: "attach"}

// RunTrial is the child side: it raises exactly the requested capabilities
// on every thread, loads and attaches, and reports. Nothing is pinned;
// everything goes when the process exits.
// check, if not nil, must accept the trial before anything happens; it is
// how a privileged bpfload refuses trials its caller made up.
func RunTrial(in io.Reader, out io.Writer, check func(*Trial) error) error {
	var req trialRequest
	dec := json.NewDecoder(in)
	dec.UseNumber() // constants keep their exact integer values
	if err := dec.Decode(&req); err != nil {
		return fmt.Errorf("trial request: %w", err)
	}
	// Programs set aside as blocked may still sit in a program array.
	r := &loader.Request{Object: req.Object, PinMaps: req.PinMaps, Constants: req.Constants, Maps: req.Maps, PartialProgArrays: true}
	for _, p := range req.Programs {
		a := p.Attach
		a.None = p.None
		r.Programs = append(r.Programs, loader.Program{Name: p.Name, Attach: a})
	}
	if check != nil {
		set, err := caps.Parse(req.Capabilities)
		if err != nil {
			return err
		}
		if err := check(&Trial{Source: req.Source, Object: r.Object, Programs: r.Programs, Constants: r.Constants, Maps: r.Maps,
			PinMaps: r.PinMaps, Capabilities: set}); err != nil {
			return err
		}
	}
	res := runTrial(&req, r)
	return json.NewEncoder(out).Encode(res)
}

func runTrial(req *trialRequest, r *loader.Request) trialResult {
	set, err := caps.Parse(req.Capabilities)
	if err != nil {
		return trialResult{Phase: "setup", Message: err.Error()}
	}
	plan, err := loader.Prepare(r)
	if err != nil {
		return trialResult{Phase: "setup", Message: err.Error()}
	}
	if err := caps.Raise(set); err != nil {
		return trialResult{Phase: "setup", Message: "raise " + set.String() + ": " + err.Error()}
	}
	loaded, err := plan.Load(nil)
	if err == nil {
		loaded.Close()
		return trialResult{OK: true}
	}
	de := diag.Explain(err, diag.Context{Granted: set})
	res := trialResult{Code: de.Code.ID, Message: de.Msg, Cause: de.Cause, Missing: de.Missing.Names()}
	if len(de.Fix) > 0 && (de.Code == diag.ERefused || de.Code == diag.EAttach || de.Code == diag.ETracefs) {
		res.Hint = strings.Join(de.Fix, "; ")
		if de.Code != diag.ETracefs {
			res.Hint = de.Fix[0]
		}
	}
	var se *loader.StepError
	if errors.As(err, &se) {
		res.Program, res.Map, res.Phase = se.Program, se.Map, phases[se.Op]
		res.Log = tail(se.VerifierLog, 8)
	}
	if len(res.Missing) == 0 {
		res.Missing = nil
	}
	return res
}

func tail(log []string, n int) []string {
	if len(log) > n {
		return log[len(log)-n:]
	}
	return log
}

// spawner starts trial children.
type spawner struct {
	self    string // the bpfload binary
	netns   bool   // run children in a private network namespace
	timeout time.Duration
}

// run performs one trial with exactly set.
func (s *spawner) run(ctx context.Context, req trialRequest, set caps.Set) (trialResult, error) {
	req.Capabilities = set.Names()
	body, err := json.Marshal(req)
	if err != nil {
		return trialResult{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, s.self, TrialCommand)
	cmd.Stdin = bytes.NewReader(body)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	// The child dies with its parent, so nothing it attached outlives the dry-run.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if s.netns {
		cmd.SysProcAttr.Cloneflags = syscall.CLONE_NEWNET
	}
	cmd.Env = append(os.Environ(), "GOMAXPROCS=2")
	if err := cmd.Run(); err != nil {
		return trialResult{}, fmt.Errorf("trial with %s: %v: %s", set, err, strings.TrimSpace(errb.String()))
	}
	var res trialResult
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		return trialResult{}, fmt.Errorf("trial with %s: bad answer %q: %v", set, out.String(), err)
	}
	return res, nil
}
