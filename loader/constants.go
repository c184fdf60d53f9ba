package loader

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"
)

// ErrConstant is wrapped by every error about a constant.
var ErrConstant = errors.New("bad constant")

// ConstantError names the constant at fault.
type ConstantError struct {
	Name string
	Err  error
}

func (e *ConstantError) Error() string { return fmt.Sprintf("constant %s: %v", e.Name, e.Err) }

func (e *ConstantError) Unwrap() error { return errors.Join(ErrConstant, e.Err) }

// setConstants writes each value into its .rodata/.data/.bss variable,
// after checking it against the variable's BTF type: integers by size and
// signedness, booleans, enums (by value or enumerator name), arrays of
// integers, and strings for char arrays.
func setConstants(spec *ebpf.CollectionSpec, consts map[string]any) error {
	for _, name := range sortedKeys(consts) {
		vs, ok := spec.Variables[name]
		if !ok {
			return &ConstantError{name, fmt.Errorf("the object has no global variable %s (it has: %s)", name, strings.Join(sortedKeys(spec.Variables), ", "))}
		}
		if vs.Type == nil {
			return &ConstantError{name, errors.New("the object carries no BTF type for it, so its value cannot be checked")}
		}
		size := int(vs.Size())
		buf := make([]byte, size)
		if err := encodeValue(buf, vs.Type.Type, consts[name], spec.ByteOrder); err != nil {
			return &ConstantError{name, err}
		}
		if err := vs.Set(buf); err != nil {
			return &ConstantError{name, err}
		}
	}
	return nil
}

// typeName is the type as the C source wrote it, such as pid_t or __u32.
func typeName(t btf.Type) string {
	switch t := t.(type) {
	case *btf.Const:
		return typeName(t.Type)
	case *btf.Volatile:
		return typeName(t.Type)
	case *btf.Array:
		return fmt.Sprintf("%s[%d]", typeName(t.Type), t.Nelems)
	}
	if n := t.TypeName(); n != "" {
		return n
	}
	return fmt.Sprintf("%T", t)
}

func encodeValue(buf []byte, t btf.Type, v any, order binary.ByteOrder) error {
	name := typeName(t)
	switch u := btf.UnderlyingType(t).(type) {
	case *btf.Int:
		return encodeInt(buf, name, int(u.Size), u.Encoding == btf.Signed, u.Encoding == btf.Bool, v, order)
	case *btf.Enum:
		if s, ok := v.(string); ok {
			for _, ev := range u.Values {
				if ev.Name == s {
					return putUint(buf, int(u.Size), ev.Value, order)
				}
			}
			return fmt.Errorf("%q is not a value of enum %s", s, name)
		}
		return encodeInt(buf, name, int(u.Size), u.Signed, false, v, order)
	case *btf.Array:
		elem, _ := btf.UnderlyingType(u.Type).(*btf.Int)
		if elem == nil {
			return fmt.Errorf("is a %s, an array of non-integers, which bpfload cannot set", name)
		}
		esize := int(elem.Size)
		if s, ok := v.(string); ok {
			if esize != 1 {
				return fmt.Errorf("is a %s: a string fits only a char array", name)
			}
			if len(s) >= int(u.Nelems) {
				return fmt.Errorf("%q is %d bytes; %s holds at most %d and a terminating NUL", s, len(s), name, u.Nelems-1)
			}
			copy(buf, s)
			return nil
		}
		list, ok := v.([]any)
		if !ok {
			return fmt.Errorf("is a %s: give a list of integers%s", name, map[bool]string{true: " or a string", false: ""}[esize == 1])
		}
		if len(list) > int(u.Nelems) {
			return fmt.Errorf("%d values do not fit %s", len(list), name)
		}
		for i, x := range list {
			if err := encodeInt(buf[i*esize:(i+1)*esize], fmt.Sprintf("%s element %d", name, i), esize, elem.Encoding == btf.Signed, elem.Encoding == btf.Bool, x, order); err != nil {
				return err
			}
		}
		return nil
	}
	return fmt.Errorf("is a %s; bpfload sets integers, booleans, enums, integer arrays and char arrays", name)
}

// encodeInt checks v against an integer type and writes it.
func encodeInt(buf []byte, name string, size int, signed, isBool bool, v any, order binary.ByteOrder) error {
	if isBool {
		b, ok := v.(bool)
		if !ok {
			return fmt.Errorf("is a %s: write true or false, not %v", name, v)
		}
		if b {
			return putUint(buf, size, 1, order)
		}
		return putUint(buf, size, 0, order)
	}
	n, ok := toBig(v)
	if !ok {
		return fmt.Errorf("is a %s (%s %d-bit integer): %v is not an integer", name, map[bool]string{true: "signed", false: "unsigned"}[signed], size*8, v)
	}
	lo, hi := new(big.Int), new(big.Int).Lsh(big.NewInt(1), uint(size*8))
	if signed {
		hi.Rsh(hi, 1)
		lo.Neg(hi)
	}
	hi.Sub(hi, big.NewInt(1))
	if n.Cmp(lo) < 0 || n.Cmp(hi) > 0 {
		return fmt.Errorf("%s does not fit %s (%s %d-bit integer: %s to %s)", n, name, map[bool]string{true: "signed", false: "unsigned"}[signed], size*8, lo, hi)
	}
	if n.Sign() < 0 {
		n.Add(n, new(big.Int).Lsh(big.NewInt(1), uint(size*8))) // two's complement
	}
	return putUint(buf, size, n.Uint64(), order)
}

func toBig(v any) (*big.Int, bool) {
	switch x := v.(type) {
	case json.Number:
		return new(big.Int).SetString(string(x), 10)
	case int:
		return big.NewInt(int64(x)), true
	case int64:
		return big.NewInt(x), true
	case int32:
		return big.NewInt(int64(x)), true
	case uint64:
		return new(big.Int).SetUint64(x), true
	case uint32:
		return new(big.Int).SetUint64(uint64(x)), true
	case uint:
		return new(big.Int).SetUint64(uint64(x)), true
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
			return big.NewInt(int64(x)), true
		}
	}
	return nil, false
}

func putUint(buf []byte, size int, v uint64, order binary.ByteOrder) error {
	switch size {
	case 1:
		buf[0] = byte(v)
	case 2:
		order.PutUint16(buf, uint16(v))
	case 4:
		order.PutUint32(buf, uint32(v))
	case 8:
		order.PutUint64(buf, v)
	default:
		return fmt.Errorf("integer of %d bytes is not supported", size)
	}
	return nil
}

// VariableInfo describes one global variable of an object, for init.
type VariableInfo struct {
	Name     string
	Section  string
	Type     string
	Default  string
	Constant bool // in .rodata: fixed at load time
}

// Variables lists the object's global variables that a manifest can set.
func Variables(object []byte) ([]VariableInfo, error) {
	spec, err := ebpf.LoadCollectionSpecFromReader(bytesReader(object))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadObject, err)
	}
	var out []VariableInfo
	for _, name := range sortedKeys(spec.Variables) {
		vs := spec.Variables[name]
		if vs.Type == nil || strings.HasPrefix(vs.SectionName, ".kconfig") || strings.HasPrefix(name, ".") {
			continue
		}
		out = append(out, VariableInfo{Name: name, Section: vs.SectionName, Type: typeName(vs.Type.Type), Default: formatDefault(vs, spec.ByteOrder), Constant: vs.Constant()})
	}
	return out, nil
}

func formatDefault(vs *ebpf.VariableSpec, order binary.ByteOrder) string {
	if vs.Value == nil {
		return "0"
	}
	switch u := btf.UnderlyingType(vs.Type.Type).(type) {
	case *btf.Int:
		n := readUint(vs.Value, order)
		switch {
		case u.Encoding == btf.Bool:
			return fmt.Sprint(n != 0)
		case u.Encoding == btf.Signed:
			shift := 64 - 8*len(vs.Value)
			return fmt.Sprint(int64(n<<shift) >> shift)
		}
		return fmt.Sprint(n)
	case *btf.Enum:
		n := readUint(vs.Value, order)
		for _, ev := range u.Values {
			if ev.Value == n {
				return ev.Name
			}
		}
		return fmt.Sprint(n)
	case *btf.Array:
		elem, _ := btf.UnderlyingType(u.Type).(*btf.Int)
		if elem == nil || elem.Size == 0 || len(vs.Value)%int(elem.Size) != 0 {
			break
		}
		if elem.Size == 1 {
			if s := strings.TrimRight(string(vs.Value), "\x00"); isPrintable(s) {
				return fmt.Sprintf("%q", s)
			}
		}
		var parts []string
		for i := 0; i < len(vs.Value); i += int(elem.Size) {
			parts = append(parts, fmt.Sprint(readUint(vs.Value[i:i+int(elem.Size)], order)))
		}
		return "[" + strings.Join(parts, ", ") + "]"
	}
	return fmt.Sprintf("%x", vs.Value)
}

func readUint(b []byte, order binary.ByteOrder) uint64 {
	switch len(b) {
	case 1:
		return uint64(b[0])
	case 2:
		return uint64(order.Uint16(b))
	case 4:
		return uint64(order.Uint32(b))
	case 8:
		return order.Uint64(b)
	}
	return 0
}

func isPrintable(s string) bool {
	for _, r := range s {
		if r < 0x20 || r > 0x7e {
			return false
		}
	}
	return true
}

// UnsizedMap is a map an object leaves without a size, with sizes to
// propose for it.
type UnsizedMap struct {
	Name              string
	Type              string
	SuggestMaxEntries uint32
	SuggestValueSize  uint32 // 0 when the object sets it
}

// UnsizedMaps lists the maps of an object that cannot be created as they
// are, for init to propose sizes.
func UnsizedMaps(object []byte) ([]UnsizedMap, error) {
	spec, err := ebpf.LoadCollectionSpecFromReader(bytesReader(object))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadObject, err)
	}
	var out []UnsizedMap
	for _, name := range sortedKeys(spec.Maps) {
		ms := spec.Maps[name]
		if sized(ms) == nil {
			continue
		}
		u := UnsizedMap{Name: name, Type: ms.Type.String(), SuggestMaxEntries: ms.MaxEntries}
		if u.SuggestMaxEntries == 0 {
			u.SuggestMaxEntries = 1024
			if ms.Type == ebpf.RingBuf || ms.Type == ebpf.UserRingbuf {
				u.SuggestMaxEntries = 256 << 10 // bytes, a power of two
			}
		}
		if ms.ValueSize == 0 && ms.Type != ebpf.RingBuf && ms.Type != ebpf.UserRingbuf && ms.Type != ebpf.Arena {
			u.SuggestValueSize = 8
			if ms.Type == ebpf.StackTrace {
				u.SuggestValueSize = 127 * 8 // PERF_MAX_STACK_DEPTH frames
			}
		}
		out = append(out, u)
	}
	return out, nil
}
