package odata

import (
	"strings"
	"time"
	"unicode/utf8"
)

// Limits that keep hostile $filter values cheap: both give a 400.
const (
	// MaxFilterLength is the longest $filter accepted, in bytes. A 25-GUID
	// "ID eq guid'…' or …" chain is about 1,400 bytes.
	MaxFilterLength = 8000
	// MaxFilterDepth is the deepest nesting of parentheses, not and
	// function calls accepted.
	MaxFilterDepth = 100
)

// Filter is a parsed $filter. A nil *Filter matches every record. A Filter
// is immutable, so one may be matched from many goroutines at once.
type Filter struct {
	root   node
	src    string
	fields []string
}

// ParseFilter parses an OData v2 $filter expression against set, the way
// Exact Online's WCF Data Services stack does: comparisons eq ne gt ge lt le,
// and, or, not, parentheses, typed literals (guid'…', datetime'…', 'text',
// 12, 12L, 12.5M, true, false, null) and the functions substringof,
// startswith, endswith, tolower, toupper, trim, length and indexof.
//
// Keywords and function names are case-sensitive and lower-case; property
// names are case-sensitive and must exist in set; each comparison must have
// operand types Exact would accept; comparing two properties is refused, as
// Exact does. The empty expression yields a nil *Filter and no error. Every
// error is an *Error with Status 400 whose message names a position.
func ParseFilter(expr string, set EntitySet) (*Filter, error) {
	if expr == "" {
		return nil, nil
	}
	if len(expr) > MaxFilterLength {
		return nil, badRequest("The $filter expression is too long (%d characters; at most %d are allowed).", len(expr), MaxFilterLength)
	}
	if !utf8.ValidString(expr) {
		for i := 0; i < len(expr); {
			r, n := utf8.DecodeRuneInString(expr[i:])
			if r == utf8.RuneError && n <= 1 {
				return nil, badRequest("Syntax error: invalid UTF-8 at position %d.", runePos(expr, i))
			}
			i += n
		}
	}
	p := &parser{lx: lexer{src: expr}, src: expr, set: set}
	if err := p.advance(); err != nil {
		return nil, err
	}
	root, err := p.parseOr()
	if err != nil {
		return nil, err
	}
	if root.typ != Boolean {
		return nil, p.errf(root.off, "Expression of type 'System.Boolean' expected at position %d.")
	}
	if p.tok.kind != tEOF {
		return nil, p.errf(p.tok.off, "Syntax error at position %d.")
	}
	return &Filter{root: root.n, src: expr, fields: p.fields}, nil
}

// Match reports whether r satisfies the filter. A nil filter matches all.
//
// Semantics (Exact's database, SQL Server with a case-insensitive
// collation): string comparisons and string functions ignore case and see
// the stored value unchanged (padded Account codes included); "X eq null"
// holds when X is nil, "X ne null" when it is not, and every other
// comparison involving a nil value is false. not simply negates its
// operand, so "not (X eq 'a')" is true for a nil X (UNCONFIRMED against
// Exact; the erp client never sends not).
func (f *Filter) Match(r Record) bool {
	if f == nil {
		return true
	}
	return truthy(f.root.eval(r))
}

// String returns the expression the filter was parsed from.
func (f *Filter) String() string {
	if f == nil {
		return ""
	}
	return f.src
}

// Fields returns the names of the properties the filter refers to, each
// once, in order of first appearance. The sandbox uses it for Exact's
// mandatory-filtering rule. A nil filter has none.
func (f *Filter) Fields() []string {
	if f == nil {
		return nil
	}
	return append([]string(nil), f.fields...)
}

// EqLiterals returns, per property, the literal values the filter compares
// the bare property to with eq (in either operand order), in order of
// appearance, e.g. map["ID"] = the GUIDs of "ID eq guid'…' or ID eq guid'…'".
// Comparisons under not and comparisons with null are left out. Values have
// the Go kinds of a Record (GUIDs lower-case). It tells the server which keys
// a batched lookup asked for; it does not say how the comparisons combine,
// so Match remains the authority on which records qualify.
func (f *Filter) EqLiterals() map[string][]any {
	if f == nil {
		return nil
	}
	out := map[string][]any{}
	collectEq(f.root, out)
	return out
}

func collectEq(n node, out map[string][]any) {
	switch n := n.(type) {
	case *andNode:
		for _, k := range n.kids {
			collectEq(k, out)
		}
	case *orNode:
		for _, k := range n.kids {
			collectEq(k, out)
		}
	case *cmpNode:
		if n.op != opEq || n.nullLit {
			return
		}
		if fl, ok := n.l.(*fieldNode); ok {
			if c, ok := n.r.(*constNode); ok {
				out[fl.name] = append(out[fl.name], c.v)
			}
		} else if fl, ok := n.r.(*fieldNode); ok {
			if c, ok := n.l.(*constNode); ok {
				out[fl.name] = append(out[fl.name], c.v)
			}
		}
	}
}

// typed is a parsed sub-expression with its static type. typ is 0 for the
// null literal.
type typed struct {
	n        node
	typ      Type
	off      int    // byte offset where the sub-expression starts
	prop     bool   // derived from a property (a field or a function of one)
	lit      bool   // a literal (constNode)
	typeName string // CLR type name for messages, when not implied by typ
}

func (t typed) clrName() string {
	if t.typeName != "" {
		return t.typeName
	}
	return clrName(t.typ)
}

// clrName is the CLR type WCF Data Services names in its messages.
func clrName(t Type) string {
	switch t {
	case Guid:
		return "System.Guid"
	case String:
		return "System.String"
	case Int32:
		return "System.Int32"
	case Int64:
		return "System.Int64"
	case Byte:
		return "System.Byte"
	case Double:
		return "System.Double"
	case Boolean:
		return "System.Boolean"
	case DateTime:
		return "System.DateTime"
	}
	return "null"
}

func isNumeric(t Type) bool { return t == Int32 || t == Int64 || t == Byte || t == Double }

// parser is a recursive-descent parser over the lexer's tokens. Recursion
// only happens for parentheses, not and function arguments, and is bounded
// by MaxFilterDepth; and/or chains are parsed iteratively into n-ary nodes.
type parser struct {
	lx     lexer
	src    string
	set    EntitySet
	tok    token
	depth  int
	fields []string
	seen   map[string]bool
}

func (p *parser) advance() *Error {
	t, err := p.lx.next()
	if err != nil {
		return err
	}
	p.tok = t
	return nil
}

// errf returns a 400 whose format ends with a %d for the position of off.
func (p *parser) errf(off int, format string, args ...any) *Error {
	return badRequest(format, append(args, runePos(p.src, off))...)
}

func (p *parser) isKeyword(w string) bool { return p.tok.kind == tIdent && p.tok.text == w }

func (p *parser) enter(off int) *Error {
	p.depth++
	if p.depth > MaxFilterDepth {
		return p.errf(off, "The recursion limit has been exceeded at position %d.")
	}
	return nil
}

func (p *parser) leave() { p.depth-- }

func (p *parser) requireBool(t typed) *Error {
	if t.typ != Boolean {
		return p.errf(t.off, "Expression of type 'System.Boolean' expected at position %d.")
	}
	return nil
}

// boolChain parses operand (keyword operand)*, every operand Boolean: the
// kids of one or/and node. kids is nil when no keyword followed the first
// operand, which is then returned as it is.
func (p *parser) boolChain(keyword string, operand func() (typed, *Error)) (first typed, kids []node, prop bool, err *Error) {
	first, err = operand()
	if err != nil || !p.isKeyword(keyword) {
		return first, nil, false, err
	}
	if err := p.requireBool(first); err != nil {
		return typed{}, nil, false, err
	}
	kids, prop = []node{first.n}, first.prop
	for p.isKeyword(keyword) {
		if err := p.advance(); err != nil {
			return typed{}, nil, false, err
		}
		next, err := operand()
		if err != nil {
			return typed{}, nil, false, err
		}
		if err := p.requireBool(next); err != nil {
			return typed{}, nil, false, err
		}
		kids, prop = append(kids, next.n), prop || next.prop
	}
	return first, kids, prop, nil
}

func (p *parser) parseOr() (typed, *Error) {
	first, kids, prop, err := p.boolChain("or", p.parseAnd)
	if err != nil || kids == nil {
		return first, err
	}
	if in := guidSet(kids); in != nil {
		return typed{n: in, typ: Boolean, off: first.off, prop: prop}, nil
	}
	return typed{n: &orNode{kids: kids}, typ: Boolean, off: first.off, prop: prop}, nil
}

// guidInNode is "F eq guid'a' or F eq guid'b' or …" on one Guid property,
// evaluated with one set lookup instead of one comparison per term (the
// gateway's batch lookups send up to 60 terms; at 50,000 items the linear
// evaluation dominated the sandbox's CPU). Same result as the orNode.
type guidInNode struct {
	field *fieldNode
	set   map[string]bool // lower-cased GUIDs
}

func (n *guidInNode) eval(r Record) any {
	v, ok := n.field.eval(r).(string)
	return ok && n.set[strings.ToLower(v)]
}

// guidSet returns a guidInNode for kids when every kid is "F eq guid'…'"
// with the same Guid property F on the left and an ASCII literal, else nil.
func guidSet(kids []node) *guidInNode {
	var in *guidInNode
	for _, k := range kids {
		c, ok := k.(*cmpNode)
		if !ok || c.op != opEq || c.nullLit {
			return nil
		}
		f, ok := c.l.(*fieldNode)
		if !ok || f.typ != Guid || (in != nil && f.name != in.field.name) {
			return nil
		}
		lit, ok := c.r.(*constNode)
		if !ok {
			return nil
		}
		g, ok := lit.v.(string)
		if !ok || !isASCII(g) {
			return nil
		}
		if in == nil {
			in = &guidInNode{field: f, set: make(map[string]bool, len(kids))}
		}
		in.set[strings.ToLower(g)] = true
	}
	return in
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func (p *parser) parseAnd() (typed, *Error) {
	first, kids, prop, err := p.boolChain("and", p.parseUnary)
	if err != nil || kids == nil {
		return first, err
	}
	return typed{n: &andNode{kids: kids}, typ: Boolean, off: first.off, prop: prop}, nil
}

func (p *parser) parseUnary() (typed, *Error) {
	if !p.isKeyword("not") {
		return p.parseComparison()
	}
	off := p.tok.off
	if err := p.enter(off); err != nil {
		return typed{}, err
	}
	if err := p.advance(); err != nil {
		return typed{}, err
	}
	operand, err := p.parseUnary()
	if err != nil {
		return typed{}, err
	}
	p.leave()
	if operand.typ != Boolean {
		return typed{}, p.errf(off, "Operator 'not' incompatible with operand type '%s' at position %d.", operand.clrName())
	}
	return typed{n: &notNode{x: operand.n}, typ: Boolean, off: off, prop: operand.prop}, nil
}

// compOps maps the comparison keywords to operators.
var compOps = map[string]cmpOp{"eq": opEq, "ne": opNe, "gt": opGt, "ge": opGe, "lt": opLt, "le": opLe}

func (p *parser) parseComparison() (typed, *Error) {
	left, err := p.parsePrimary()
	if err != nil {
		return typed{}, err
	}
	for p.tok.kind == tIdent {
		op, ok := compOps[p.tok.text]
		if !ok {
			break
		}
		opTok := p.tok
		if err := p.advance(); err != nil {
			return typed{}, err
		}
		right, err := p.parsePrimary()
		if err != nil {
			return typed{}, err
		}
		left, err = p.compare(op, opTok, left, right)
		if err != nil {
			return typed{}, err
		}
	}
	return left, nil
}

// compare type-checks one comparison and builds its node, converting a
// literal to the other operand's kind where Exact allows it (0/1 for a
// Boolean, true/false for a Byte).
func (p *parser) compare(op cmpOp, opTok token, l, r typed) (typed, *Error) {
	incompatible := func() (typed, *Error) {
		return typed{}, p.errf(opTok.off, "Operator '%s' incompatible with operand types '%s' and '%s' at position %d.",
			opTok.text, l.clrName(), r.clrName())
	}
	out := typed{typ: Boolean, off: l.off, prop: l.prop || r.prop}
	if l.prop && r.prop {
		return typed{}, p.errf(opTok.off, "Comparing two properties is not supported at position %d.")
	}
	if l.typ == 0 || r.typ == 0 {
		out.n = &cmpNode{op: op, l: l.n, r: r.n, nullLit: true}
		return out, nil
	}
	ordered := op != opEq && op != opNe
	switch {
	case l.typ == r.typ:
		if ordered && (l.typ == Guid || l.typ == Boolean) {
			return incompatible()
		}
	case isNumeric(l.typ) && isNumeric(r.typ):
	case l.typ == Boolean || r.typ == Boolean:
		// Boolean against a literal 0 or 1 (picqer's "IsWebshopItem eq 1"),
		// or a Byte against true/false.
		if ordered {
			return incompatible()
		}
		var ok bool
		if l, r, ok = coerceBoolByte(l, r); !ok {
			return incompatible()
		}
	default:
		return incompatible()
	}
	out.n = &cmpNode{op: op, l: l.n, r: r.n}
	return out, nil
}

// coerceBoolByte converts a literal on one side so that both sides have the
// same kind: 0/1 against a Boolean becomes false/true, true/false against a
// Byte becomes 0/1.
func coerceBoolByte(l, r typed) (typed, typed, bool) {
	conv := func(lit, other typed) (typed, bool) {
		if !lit.lit {
			return lit, false
		}
		c, _ := lit.n.(*constNode)
		if c == nil {
			return lit, false
		}
		switch {
		case other.typ == Boolean && (lit.typ == Int32 || lit.typ == Int64):
			v, _ := c.v.(int64)
			if v != 0 && v != 1 {
				return lit, false
			}
			lit.n, lit.typ = &constNode{v: v == 1}, Boolean
			return lit, true
		case other.typ == Byte && lit.typ == Boolean:
			b, _ := c.v.(bool)
			var v int64
			if b {
				v = 1
			}
			lit.n, lit.typ = &constNode{v: v}, Byte
			return lit, true
		}
		return lit, false
	}
	if nl, ok := conv(l, r); ok {
		return nl, r, true
	}
	if nr, ok := conv(r, l); ok {
		return l, nr, true
	}
	return l, r, false
}

func (p *parser) parsePrimary() (typed, *Error) {
	t := p.tok
	lit := func(v any, typ Type, name string) (typed, *Error) {
		if err := p.advance(); err != nil {
			return typed{}, err
		}
		return typed{n: &constNode{v: v}, typ: typ, off: t.off, lit: true, typeName: name}, nil
	}
	switch t.kind {
	case tEOF:
		return typed{}, p.errf(t.off, "Expression expected at position %d.")
	case tString:
		return lit(t.s, String, "")
	case tGuid:
		return lit(t.s, Guid, "")
	case tDateTime:
		return lit(t.t, DateTime, "")
	case tInt:
		typ := Int64
		if t.typeName == "System.Int32" {
			typ = Int32
		}
		return lit(t.i, typ, t.typeName)
	case tDecimal:
		return lit(t.f, Double, t.typeName)
	case tLParen:
		if err := p.enter(t.off); err != nil {
			return typed{}, err
		}
		if err := p.advance(); err != nil {
			return typed{}, err
		}
		inner, err := p.parseOr()
		if err != nil {
			return typed{}, err
		}
		if p.tok.kind != tRParen {
			return typed{}, p.errf(p.tok.off, "')' or operator expected at position %d.")
		}
		if err := p.advance(); err != nil {
			return typed{}, err
		}
		p.leave()
		inner.off = t.off
		return inner, nil
	case tIdent:
		switch t.text {
		case "true", "false":
			return lit(t.text == "true", Boolean, "")
		case "null":
			return lit(nil, 0, "")
		case "and", "or", "not", "eq", "ne", "gt", "ge", "lt", "le":
			return typed{}, p.errf(t.off, "Expression expected at position %d.")
		}
		if p.lx.peekByte() == '(' {
			return p.parseCall()
		}
		f, ok := p.set.Field(t.text)
		if !ok {
			return typed{}, p.errf(t.off, "No property '%s' exists in type '%s' at position %d.", t.text, p.set.TypeName)
		}
		if err := p.advance(); err != nil {
			return typed{}, err
		}
		if p.seen == nil {
			p.seen = map[string]bool{}
		}
		if !p.seen[f.Name] {
			p.seen[f.Name] = true
			p.fields = append(p.fields, f.Name)
		}
		return typed{n: &fieldNode{name: f.Name, typ: f.Type}, typ: f.Type, off: t.off, prop: true}, nil
	}
	return typed{}, p.errf(t.off, "Expression expected at position %d.")
}

// funcSig describes one supported function: its string arguments and result.
type funcSig struct {
	args   int
	result Type
	sig    string
}

var funcs = map[string]funcSig{
	"substringof": {2, Boolean, "substringof(System.String, System.String)"},
	"startswith":  {2, Boolean, "startswith(System.String, System.String)"},
	"endswith":    {2, Boolean, "endswith(System.String, System.String)"},
	"indexof":     {2, Int32, "indexof(System.String, System.String)"},
	"tolower":     {1, String, "tolower(System.String)"},
	"toupper":     {1, String, "toupper(System.String)"},
	"trim":        {1, String, "trim(System.String)"},
	"length":      {1, Int32, "length(System.String)"},
}

func (p *parser) parseCall() (typed, *Error) {
	name := p.tok
	sig, ok := funcs[name.text]
	if !ok {
		// Exact answers contains(…) this way (exact-online-api.md §3.5, [pq#39]).
		return typed{}, p.errf(name.off, "Expression of type 'System.Boolean' expected at position %d.")
	}
	if err := p.enter(name.off); err != nil {
		return typed{}, err
	}
	if err := p.advance(); err != nil { // the name
		return typed{}, err
	}
	if err := p.advance(); err != nil { // "("
		return typed{}, err
	}
	var args []typed
	if p.tok.kind != tRParen {
		for {
			a, err := p.parseOr()
			if err != nil {
				return typed{}, err
			}
			args = append(args, a)
			if p.tok.kind != tComma {
				break
			}
			if err := p.advance(); err != nil {
				return typed{}, err
			}
		}
	}
	if p.tok.kind != tRParen {
		return typed{}, p.errf(p.tok.off, "')' or ',' expected at position %d.")
	}
	if err := p.advance(); err != nil {
		return typed{}, err
	}
	p.leave()
	noMatch := func() (typed, *Error) {
		return typed{}, badRequest("No applicable function found for '%s' at position %d with the specified arguments. The functions considered are: %s.",
			name.text, runePos(p.src, name.off), sig.sig)
	}
	if len(args) != sig.args {
		return noMatch()
	}
	prop := false
	nodes := make([]node, len(args))
	for i, a := range args {
		if a.typ != String && a.typ != 0 {
			return noMatch()
		}
		prop = prop || a.prop
		nodes[i] = a.n
	}
	if len(args) == 2 && args[0].prop && args[1].prop {
		return typed{}, p.errf(name.off, "Comparing two properties is not supported at position %d.")
	}
	var n node
	switch name.text {
	case "tolower", "toupper", "trim", "length":
		n = &strFunc{name: name.text, x: nodes[0]}
	default:
		n = newPairFunc(name.text, nodes[0], nodes[1])
	}
	return typed{n: n, typ: sig.result, off: name.off, prop: prop}, nil
}

// Evaluation.

// node is an evaluable sub-expression. Values are nil, string, int64,
// float64, bool or time.Time.
type node interface {
	eval(r Record) any
}

func truthy(v any) bool {
	b, ok := v.(bool)
	return ok && b
}

type constNode struct{ v any }

func (c *constNode) eval(Record) any { return c.v }

type fieldNode struct {
	name string
	typ  Type
}

func (f *fieldNode) eval(r Record) any { return normalize(f.typ, r[f.name]) }

// normalize maps a record value to the evaluation kind of typ. A value of an
// unexpected Go kind counts as nil rather than failing.
func normalize(typ Type, v any) any {
	switch typ {
	case Guid, String:
		if _, ok := v.(string); ok {
			return v // the stored interface: re-boxing would allocate
		}
	case Int32, Int64, Byte:
		switch x := v.(type) {
		case int64:
			return v
		case int:
			return int64(x)
		case int32:
			return int64(x)
		case int16:
			return int64(x)
		case int8:
			return int64(x)
		case uint8:
			return int64(x)
		case uint16:
			return int64(x)
		case uint32:
			return int64(x)
		case float64:
			return v
		case bool: // a Byte flag stored as bool
			if x {
				return int64(1)
			}
			return int64(0)
		}
	case Double:
		switch x := v.(type) {
		case float64:
			return v
		case float32:
			return float64(x)
		case int64:
			return float64(x)
		case int:
			return float64(x)
		}
	case Boolean:
		switch x := v.(type) {
		case bool:
			return v
		case int64:
			return x != 0
		case int:
			return x != 0
		}
	case DateTime:
		if _, ok := v.(time.Time); ok {
			return v
		}
	}
	return nil
}

type andNode struct{ kids []node }

func (n *andNode) eval(r Record) any {
	for _, k := range n.kids {
		if !truthy(k.eval(r)) {
			return false
		}
	}
	return true
}

type orNode struct{ kids []node }

func (n *orNode) eval(r Record) any {
	for _, k := range n.kids {
		if truthy(k.eval(r)) {
			return true
		}
	}
	return false
}

type notNode struct{ x node }

func (n *notNode) eval(r Record) any { return !truthy(n.x.eval(r)) }

type cmpOp int

const (
	opEq cmpOp = iota
	opNe
	opGt
	opGe
	opLt
	opLe
)

type cmpNode struct {
	op   cmpOp
	l, r node
	// nullLit is set when an operand is the null literal: eq and ne then
	// test for nil (IS NULL / IS NOT NULL); the other operators are false.
	nullLit bool
}

func (n *cmpNode) eval(r Record) any {
	lv, rv := n.l.eval(r), n.r.eval(r)
	if n.nullLit {
		switch n.op {
		case opEq:
			return lv == nil && rv == nil
		case opNe:
			return (lv == nil) != (rv == nil)
		}
		return false
	}
	if lv == nil || rv == nil {
		return false
	}
	c, ok := compareValues(lv, rv)
	if !ok {
		return false
	}
	switch n.op {
	case opEq:
		return c == 0
	case opNe:
		return c != 0
	case opGt:
		return c > 0
	case opGe:
		return c >= 0
	case opLt:
		return c < 0
	default:
		return c <= 0
	}
}

// compareValues orders two non-nil evaluation values of compatible kinds;
// ok is false when the kinds cannot be compared. Strings (and GUIDs) compare
// case-insensitively.
func compareValues(a, b any) (int, bool) {
	switch x := a.(type) {
	case string:
		y, ok := b.(string)
		if !ok {
			return 0, false
		}
		return compareFold(x, y), true
	case int64:
		switch y := b.(type) {
		case int64:
			return cmp3(x, y), true
		case float64:
			return cmp3(float64(x), y), true
		}
	case float64:
		switch y := b.(type) {
		case float64:
			return cmp3(x, y), true
		case int64:
			return cmp3(x, float64(y)), true
		}
	case bool:
		y, ok := b.(bool)
		if !ok {
			return 0, false
		}
		switch {
		case x == y:
			return 0, true
		case y:
			return -1, true
		}
		return 1, true
	case time.Time:
		y, ok := b.(time.Time)
		if !ok {
			return 0, false
		}
		return x.Compare(y), true
	}
	return 0, false
}

func cmp3[T int64 | float64](a, b T) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// compareFold compares strings ignoring case, like SQL Server's
// case-insensitive collation (approximated by simple lower-casing).
func compareFold(a, b string) int {
	n := min(len(a), len(b))
	for i := 0; i < n; i++ {
		ca, cb := a[i], b[i]
		if ca >= utf8.RuneSelf || cb >= utf8.RuneSelf {
			return strings.Compare(strings.ToLower(a[i:]), strings.ToLower(b[i:]))
		}
		if 'A' <= ca && ca <= 'Z' {
			ca += 'a' - 'A'
		}
		if 'A' <= cb && cb <= 'Z' {
			cb += 'a' - 'A'
		}
		if ca != cb {
			if ca < cb {
				return -1
			}
			return 1
		}
	}
	return cmp3(int64(len(a)), int64(len(b)))
}

// strFunc is tolower, toupper, trim or length.
type strFunc struct {
	name string
	x    node
}

func (f *strFunc) eval(r Record) any {
	s, ok := f.x.eval(r).(string)
	if !ok {
		return nil
	}
	switch f.name {
	case "tolower":
		return strings.ToLower(s)
	case "toupper":
		return strings.ToUpper(s)
	case "trim":
		// SQL Server's LTRIM(RTRIM()) removes spaces only.
		return strings.Trim(s, " ")
	}
	return int64(utf8.RuneCountInString(s))
}

// pairFunc is substringof, startswith, endswith or indexof; all compare
// case-insensitively. A literal argument is lower-cased once at parse time.
type pairFunc struct {
	name string
	a, b node
}

func newPairFunc(name string, a, b node) *pairFunc {
	low := func(n node) node {
		if c, ok := n.(*constNode); ok {
			if s, ok := c.v.(string); ok {
				return &constNode{v: strings.ToLower(s)}
			}
		}
		return n
	}
	return &pairFunc{name: name, a: low(a), b: low(b)}
}

func (f *pairFunc) eval(r Record) any {
	a, ok1 := f.a.eval(r).(string)
	b, ok2 := f.b.eval(r).(string)
	if !ok1 || !ok2 {
		// Unknown, like SQL's NULL: false when used bare, and false when
		// compared ("substringof('a', Notes) eq false" skips a nil Notes).
		return nil
	}
	a, b = strings.ToLower(a), strings.ToLower(b)
	switch f.name {
	case "substringof":
		return strings.Contains(b, a)
	case "startswith":
		return strings.HasPrefix(a, b)
	case "endswith":
		return strings.HasSuffix(a, b)
	}
	i := strings.Index(a, b)
	if i < 0 {
		return int64(-1)
	}
	return int64(utf8.RuneCountInString(a[:i]))
}
