package caps

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"kernel.org/pub/linux/libs/security/libcap/cap"
)

// ErrUnknownCapability is wrapped by Parse for a name that names no
// capability of this system's libcap.
var ErrUnknownCapability = errors.New("unknown capability")

// Set is a set of capabilities as a bit mask, bit N for capability N, the
// same layout as the CapEff/CapPrm/... lines of /proc/PID/status.
type Set uint64

// Of returns the set holding the given capabilities.
func Of(vals ...cap.Value) Set {
	var s Set
	for _, v := range vals {
		s |= 1 << uint(v)
	}
	return s
}

// Parse turns names such as "CAP_BPF" (case-insensitive, the CAP_ prefix
// optional) into a Set. Every unknown name is reported, not only the first.
func Parse(names []string) (Set, error) {
	var s Set
	var bad []string
	for _, n := range names {
		v, err := cap.FromName("cap_" + strings.ToLower(strings.TrimPrefix(strings.ToUpper(n), "CAP_")))
		if err != nil || !strings.HasPrefix(v.String(), "cap_") {
			bad = append(bad, n)
			continue
		}
		s |= 1 << uint(v)
	}
	if len(bad) > 0 {
		return s, fmt.Errorf("%w: %s (names look like CAP_BPF; see capabilities(7))", ErrUnknownCapability, strings.Join(bad, ", "))
	}
	return s, nil
}

// Name returns the canonical name of v, such as "CAP_BPF".
func Name(v cap.Value) string {
	return strings.ToUpper(v.String())
}

// Values lists the capabilities in s in numeric order.
func (s Set) Values() []cap.Value {
	var out []cap.Value
	for v := cap.Value(0); v < 64; v++ {
		if s&(1<<uint(v)) != 0 {
			out = append(out, v)
		}
	}
	return out
}

// Names lists the capability names in s, sorted by name.
func (s Set) Names() []string {
	out := []string{}
	for _, v := range s.Values() {
		out = append(out, Name(v))
	}
	sort.Strings(out)
	return out
}

// Has reports whether s holds every capability in o.
func (s Set) Has(o Set) bool { return s&o == o }

// Minus returns the capabilities in s that are not in o.
func (s Set) Minus(o Set) Set { return s &^ o }

// String renders s as a comma-separated list of names, or "none".
func (s Set) String() string {
	if s == 0 {
		return "none"
	}
	return strings.Join(s.Names(), ",")
}

// Lower renders s in the lower-case form setcap(8) and capsh use:
// "cap_bpf,cap_perfmon".
func (s Set) Lower() string {
	return strings.ToLower(strings.Join(s.Names(), ","))
}
