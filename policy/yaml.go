package policy

import (
	"errors"
	"fmt"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
)

// Sentinels for errors.Is on decoding and validation failures.
var (
	ErrSyntax  = errors.New("not valid")
	ErrInvalid = errors.New("invalid")
)

// FieldError is a decoding or validation error at a place in a YAML file.
type FieldError struct {
	File   string
	Line   int    // 0 when unknown
	Column int    // 0 when unknown
	Field  string // dotted path such as programs[2].attach, when known
	Msg    string
	Source string // the offending lines, for syntax errors
	Err    error  // ErrSyntax or ErrInvalid
}

func (e *FieldError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
		if e.Column > 0 {
			fmt.Fprintf(&b, ":%d", e.Column)
		}
	}
	b.WriteString(": ")
	if e.Field != "" {
		b.WriteString(e.Field + ": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

func (e *FieldError) Unwrap() error { return e.Err }

// doc is a parsed YAML document that can say where a field is.
type doc struct {
	file string
	ast  *ast.File
}

// decodeStrict parses data once and decodes it into out, refusing unknown
// and duplicate keys. The parsed tree is kept to locate fields later.
func decodeStrict(file string, data []byte, out any) (*doc, error) {
	f, err := parser.ParseBytes(data, 0)
	if err != nil {
		return nil, yamlError(file, err)
	}
	var bodies []ast.Node
	for _, d := range f.Docs {
		if d != nil && d.Body != nil {
			bodies = append(bodies, d.Body)
		}
	}
	switch len(bodies) {
	case 0:
		return nil, &FieldError{File: file, Msg: "the file is empty", Err: ErrSyntax}
	case 1:
	default:
		return nil, &FieldError{File: file, Msg: fmt.Sprintf("holds %d YAML documents; write one", len(bodies)), Err: ErrSyntax}
	}
	if err := plainYAML(file, bodies[0]); err != nil {
		return nil, err
	}
	if bodies[0].Type() != ast.MappingType {
		return nil, &FieldError{File: file, Line: line(bodies[0]), Msg: "the top level must be a mapping of keys such as apiVersion and kind", Err: ErrSyntax}
	}
	if err := nodeToValue(bodies[0], out); err != nil {
		return nil, yamlError(file, err)
	}
	return &doc{file: file, ast: f}, nil
}

// nodeToValue decodes strictly; a decoder panic on hostile input becomes
// an error (found by fuzzing; see testdata/fuzz).
func nodeToValue(n ast.Node, out any) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("the YAML decoder failed on this input: %v", r)
		}
	}()
	return yaml.NodeToValue(n, out, yaml.Strict())
}

// plainYAML refuses tags, anchors and aliases: bpfload's files need none,
// and they are where YAML decoders get exotic (alias bombs, custom types).
func plainYAML(file string, root ast.Node) error {
	v := &plainVisitor{}
	ast.Walk(v, root)
	if v.bad != nil {
		return &FieldError{File: file, Line: line(v.bad), Msg: fmt.Sprintf("YAML %s are not allowed in bpfload files", v.what), Err: ErrSyntax}
	}
	return nil
}

type plainVisitor struct {
	bad  ast.Node
	what string
}

func (v *plainVisitor) Visit(n ast.Node) ast.Visitor {
	if v.bad != nil {
		return nil
	}
	switch n.(type) {
	case *ast.TagNode:
		v.bad, v.what = n, "tags (!...)"
	case *ast.AnchorNode:
		v.bad, v.what = n, "anchors (&...)"
	case *ast.AliasNode:
		v.bad, v.what = n, "aliases (*...)"
	}
	if v.bad != nil {
		return nil
	}
	return v
}

func yamlError(file string, err error) error {
	fe := &FieldError{File: file, Msg: err.Error(), Err: ErrSyntax}
	var ye yaml.Error
	if errors.As(err, &ye) {
		fe.Msg = ye.GetMessage()
		if tk := ye.GetToken(); tk != nil && tk.Position != nil {
			fe.Line, fe.Column = tk.Position.Line, tk.Position.Column
		}
		fe.Source = ye.FormatError(false, true)
	}
	return fe
}

func line(n ast.Node) int {
	if n == nil || n.GetToken() == nil || n.GetToken().Position == nil {
		return 0
	}
	return n.GetToken().Position.Line
}

// lineOf returns the line of the field at dotted path p, such as
// "programs[2].attach", or of its nearest existing parent.
func (d *doc) lineOf(p string) int {
	if d == nil {
		return 0
	}
	for p != "" {
		if path, err := yaml.PathString("$." + p); err == nil {
			if n, err := path.FilterFile(d.ast); err == nil && n != nil {
				if l := line(n); l > 0 {
					return l
				}
			}
		}
		i := strings.LastIndexAny(p, ".[")
		if i < 0 {
			break
		}
		p = p[:i]
	}
	return 0
}

// invalid builds a FieldError for a bad value at field p.
func (d *doc) invalid(p, format string, args ...any) *FieldError {
	return &FieldError{File: d.file, Line: d.lineOf(p), Field: p, Msg: fmt.Sprintf(format, args...), Err: ErrInvalid}
}
