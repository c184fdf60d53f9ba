package loader

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/cilium/ebpf"
)

func rwRequest(t *testing.T, consts map[string]any) *Request {
	return &Request{Object: object(t, "rw_filter.bpf.o"), Constants: consts,
		Programs: []Program{{Name: "count_openat", Attach: Attach{None: true}}}}
}

func TestConstantsSet(t *testing.T) {
	plan, err := Prepare(rwRequest(t, map[string]any{
		"targ_tgid": int64(-5), "filter_failed": true, "min_level": uint64(255), "max_bytes": uint64(1 << 63),
		"comm_prefix": "bash", "ports": []any{uint64(80), uint64(443)}, "run_mode": "MODE_TRACE",
	}))
	if err != nil {
		t.Fatal(err)
	}
	get := func(name string, out any) {
		t.Helper()
		if err := plan.spec.Variables[name].Get(out); err != nil {
			t.Fatal(err)
		}
	}
	var tgid int32
	get("targ_tgid", &tgid)
	var failed, level uint8
	get("filter_failed", &failed)
	get("min_level", &level)
	var maxBytes uint64
	get("max_bytes", &maxBytes)
	var comm [16]byte
	get("comm_prefix", &comm)
	var ports [4]uint32
	get("ports", &ports)
	var mode uint32
	get("run_mode", &mode)
	if tgid != -5 || failed != 1 || level != 255 || maxBytes != 1<<63 || string(comm[:5]) != "bash\x00" || ports != [4]uint32{80, 443, 0, 0} || mode != 1 {
		t.Errorf("got tgid=%d failed=%d level=%d max=%d comm=%q ports=%v mode=%d", tgid, failed, level, maxBytes, comm, ports, mode)
	}
}

// Each kind of mistake gets its own message.
func TestConstantErrors(t *testing.T) {
	cases := []struct {
		name  string
		value any
		want  string
	}{
		{"nosuch", 1, "no global variable nosuch (it has: comm_prefix"},
		{"targ_tgid", uint64(1 << 31), "does not fit int (signed 32-bit integer: -2147483648 to 2147483647)"},
		{"targ_tgid", "1234", "is not an integer"},
		{"targ_tgid", 1.5, "is not an integer"},
		{"min_level", int64(-1), "does not fit unsigned char (unsigned 8-bit integer: 0 to 255)"},
		{"min_level", uint64(256), "0 to 255"},
		{"filter_failed", uint64(1), "write true or false"},
		{"comm_prefix", "0123456789abcdef", "holds at most 15 and a terminating NUL"},
		{"comm_prefix", uint64(3), "give a list of integers or a string"},
		{"ports", []any{uint64(1), uint64(2), uint64(3), uint64(4), uint64(5)}, "5 values do not fit unsigned int[4]"},
		{"ports", []any{int64(-1)}, "element 0"},
		{"ports", "80", "a string fits only a char array"},
		{"run_mode", "MODE_NOPE", `"MODE_NOPE" is not a value of enum mode`},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%s=%v", c.name, c.value), func(t *testing.T) {
			_, err := Prepare(rwRequest(t, map[string]any{c.name: c.value}))
			var ce *ConstantError
			if !errors.As(err, &ce) || ce.Name != c.name || !errors.Is(err, ErrConstant) {
				t.Fatalf("error %v, want a ConstantError for %s", err, c.name)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q lacks %q", err, c.want)
			}
		})
	}
}

func TestUnsizedMaps(t *testing.T) {
	req := &Request{Object: object(t, "rw_filter.bpf.o"), Programs: []Program{{Name: "stack_openat", Attach: Attach{None: true}}}}
	_, err := Prepare(req)
	var me *MapError
	if !errors.Is(err, ErrUnsizedMap) || !errors.As(err, &me) || me.Map != "stacks" || !strings.Contains(err.Error(), "map stacks has no size: set maps[].maxEntries") {
		t.Fatalf("unsized stack map: %v", err)
	}
	req.Maps = []MapSetting{{Name: "stacks", MaxEntries: 1024, ValueSize: 1016}}
	plan, err := Prepare(req)
	if err != nil {
		t.Fatal(err)
	}
	if ms := plan.spec.Maps["stacks"]; ms.MaxEntries != 1024 || ms.ValueSize != 1016 || ms.Type != ebpf.StackTrace {
		t.Errorf("sized map: %+v", ms)
	}
	req.Maps = []MapSetting{{Name: "opens_by_tgid", ValueSize: 16}}
	if _, err := Prepare(req); !errors.Is(err, ErrMapSetting) {
		t.Errorf("valueSize over the object's own: %v", err)
	}
	u, err := UnsizedMaps(object(t, "rw_filter.bpf.o"))
	if err != nil || len(u) != 1 || u[0].Name != "stacks" || u[0].SuggestValueSize != 1016 {
		t.Errorf("UnsizedMaps = %+v, %v", u, err)
	}
}

func TestUnlistedProgramsAndMaps(t *testing.T) {
	plan, err := Prepare(rwRequest(t, nil))
	if err != nil {
		t.Fatal(err)
	}
	// stack_openat is not listed, so its unsized map is neither needed nor created.
	if got := strings.Join(plan.Maps(), ","); got != ".rodata,opens_by_tgid" {
		t.Errorf("maps %s", got)
	}
	if len(plan.pinMaps) != 1 || plan.pinMaps[0] != "opens_by_tgid" {
		t.Errorf("pinned maps %v: data sections are never pinned", plan.pinMaps)
	}
}

func TestVariables(t *testing.T) {
	vars, err := Variables(object(t, "rw_filter.bpf.o"))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, v := range vars {
		got[v.Name] = v.Type + "=" + v.Default
	}
	for name, want := range map[string]string{"targ_tgid": "int=0", "filter_failed": "_Bool=false", "max_bytes": "unsigned long long=4096",
		"ports": "unsigned int[4]=[0, 0, 0, 0]", "run_mode": "mode=MODE_COUNT", "comm_prefix": `char[16]=""`} {
		if got[name] != want {
			t.Errorf("%s: %q, want %q", name, got[name], want)
		}
	}
}
