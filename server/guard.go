package server

import (
	"context"
	"fmt"
	"slices"
	"strconv"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/exactql/exactql/apierr"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"github.com/vektah/gqlparser/v2/parser"
)

// introspectionMaxDepth is the nesting allowed inside __schema and __type
// when introspection is on: the introspection query tools send nests about
// 15 deep (ofType chains), deeper than a data query needs.
const introspectionMaxDepth = 20

// ctxCheckEvery is how many selections the guard walks between looks at the
// request context, so a client that went away stops the work.
const ctxCheckEvery = 256

// documentGuard refuses abusive documents before gqlgen validates them or
// computes their complexity (issue 17 items 1, 2 and 6). gqlgen runs
// operation parameter mutators before it parses and validates, so this is
// the first place that sees the query text:
//
//  1. a document longer than maxQueryBytes is refused unread, before the
//     persisted-query extension could keep it in its cache;
//  2. automatic persisted queries are resolved (the extension runs inside
//     the guard, so the order cannot be changed by accident);
//  3. a document already in the query cache has passed all of this and
//     validation before, and goes on;
//  4. otherwise the document is parsed and walked once, each fragment once
//     (memoised), counting every selection: fields including __typename,
//     __schema and __type, inline fragments and fragment spreads, with
//     fragments expanded where they are spread. Too many selections or too
//     deep a nesting is QUERY_TOO_COMPLEX; __schema/__type with
//     introspection off, and numbers no Go type can hold, are
//     BAD_USER_INPUT; duplicate fragment names and fragment cycles are
//     GRAPHQL_VALIDATION_FAILED.
//
// The walk is linear in the document's size whatever its fragments
// multiply to, so validation's and complexity's costlier walks only ever
// see documents whose expanded size is within maxFields.
type documentGuard struct {
	maxQueryBytes int
	maxDepth      int
	maxFields     int
	introspection bool
	tokenLimit    int
	apq           extension.AutomaticPersistedQuery
	docs          graphql.Cache[*ast.QueryDocument]
}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationParameterMutator
} = (*documentGuard)(nil)

// ExtensionName implements graphql.HandlerExtension.
func (*documentGuard) ExtensionName() string { return "DocumentGuard" }

// Validate implements graphql.HandlerExtension.
func (g *documentGuard) Validate(es graphql.ExecutableSchema) error { return g.apq.Validate(es) }

// MutateOperationParameters implements graphql.OperationParameterMutator.
func (g *documentGuard) MutateOperationParameters(ctx context.Context, p *graphql.RawParams) *gqlerror.Error {
	if err := g.checkLength(p.Query); err != nil {
		return err
	}
	if err := g.apq.MutateOperationParameters(ctx, p); err != nil {
		return err
	}
	// A persisted query came from the cache, which only holds queries that
	// passed the length check; checked again as it costs nothing.
	if err := g.checkLength(p.Query); err != nil {
		return err
	}
	if p.Query == "" {
		return nil // gqlgen answers "no operation provided"
	}
	if _, ok := g.docs.Get(ctx, p.Query); ok {
		return nil
	}
	doc, err := parser.ParseQueryWithTokenLimit(&ast.Source{Input: p.Query}, g.tokenLimit)
	if err != nil {
		// gqlgen parses again and answers GRAPHQL_PARSE_FAILED with the
		// parser's position; a failed parse costs no more than this one.
		return nil
	}
	return checkDocument(ctx, doc, docLimits{
		maxDepth: g.maxDepth, maxFields: g.maxFields, introspection: g.introspection,
	})
}

func (g *documentGuard) checkLength(q string) *gqlerror.Error {
	if len(q) > g.maxQueryBytes {
		return tooComplex(fmt.Sprintf("query document larger than %d bytes", g.maxQueryBytes))
	}
	return nil
}

// docLimits are what checkDocument enforces.
type docLimits struct {
	maxDepth      int
	maxFields     int
	introspection bool
}

// checkDocument walks a parsed, not yet validated document (see
// documentGuard). It returns nil when the document may go on to validation.
func checkDocument(ctx context.Context, doc *ast.QueryDocument, lim docLimits) *gqlerror.Error {
	return newDocWalker(ctx, doc, lim).check(doc)
}

func newDocWalker(ctx context.Context, doc *ast.QueryDocument, lim docLimits) *docWalker {
	return &docWalker{ctx: ctx, lim: lim,
		frags: make(map[string]*ast.FragmentDefinition, len(doc.Fragments)),
		memo:  make(map[fragKey]*fragCost, len(doc.Fragments)),
	}
}

func (w *docWalker) check(doc *ast.QueryDocument) *gqlerror.Error {
	lim := w.lim
	for _, f := range doc.Fragments {
		if _, dup := w.frags[f.Name]; dup {
			return validationError(fmt.Sprintf("There can be only one fragment named %q.", f.Name))
		}
		w.frags[f.Name] = f
	}
	// One pass over the text as written (spreads not followed).
	for _, op := range doc.Operations {
		for _, v := range op.VariableDefinitions {
			w.scanValue(v.DefaultValue)
			w.scanDirectives(v.Directives)
		}
		w.scanDirectives(op.Directives)
		w.scanSet(op.SelectionSet)
	}
	for _, f := range doc.Fragments {
		w.scanDirectives(f.Directives)
		w.scanSet(f.SelectionSet)
	}
	if w.err != nil {
		return w.err
	}

	// The expanded walk.
	total := 0
	for _, op := range doc.Operations {
		c := w.walkSet(op.SelectionSet, false)
		if w.err != nil {
			return w.err
		}
		total = w.sat(total + c.count)
		if c.plain > lim.maxDepth || c.all > max(lim.maxDepth, introspectionMaxDepth) {
			return tooComplex(fmt.Sprintf("operation is nested deeper than the limit of %d", lim.maxDepth))
		}
	}
	// Fragments no operation spreads are still validated: count them too.
	var unreached []*ast.FragmentDefinition
	for _, f := range doc.Fragments {
		if w.memo[fragKey{f.Name, false}] == nil && w.memo[fragKey{f.Name, true}] == nil {
			unreached = append(unreached, f)
		}
	}
	for _, f := range unreached {
		c := w.spread(f.Name, false)
		if w.err != nil {
			return w.err
		}
		total = w.sat(total + c.count)
	}
	if total > lim.maxFields {
		return tooComplex(fmt.Sprintf("operation selects more than the limit of %d fields (aliases, fragments and their spreads count)", lim.maxFields))
	}

	// Validation compares, in each merged selection, every pair of fields
	// with one response name and every pair of fragments spread together
	// (OverlappingFieldsCanBeMerged), building an error per conflicting
	// pair: quadratic. The expansion is within maxFields now, so this walk
	// is cheap; it bounds that rule's work.
	pairs := 0
	for _, op := range doc.Operations {
		pairs += w.overlapPairs([]ast.SelectionSet{op.SelectionSet})
	}
	for _, f := range unreached {
		pairs += w.overlapPairs([]ast.SelectionSet{f.SelectionSet})
	}
	if w.err != nil {
		return w.err
	}
	if pairs > maxOverlapPairs {
		return tooComplex(fmt.Sprintf("operation repeats response names or fragments too often (%d pairs to compare, limit %d); use distinct aliases", pairs, maxOverlapPairs))
	}
	return nil
}

// maxOverlapPairs bounds the pairs of same-named fields and of fragments
// spread together that validation's overlapping-fields rule compares; a
// product page repeats id or code in a few fragments, a few hundred pairs.
const maxOverlapPairs = 10000

// overlapPairs counts, for the selection sets merged at one place of the
// answer, the pairs of fields with one response name and of distinct
// fragments spread there, and the same below each response name.
func (w *docWalker) overlapPairs(sets []ast.SelectionSet) int {
	var (
		names    []string
		children = map[string][]ast.SelectionSet{}
		seen     = map[string]bool{}
		spreads  int
	)
	var collect func(set ast.SelectionSet)
	collect = func(set ast.SelectionSet) {
		for _, sel := range set {
			if !w.tick() {
				return
			}
			switch s := sel.(type) {
			case *ast.Field:
				name := s.Alias
				if name == "" {
					name = s.Name
				}
				if _, ok := children[name]; !ok {
					names = append(names, name)
				}
				children[name] = append(children[name], s.SelectionSet)
			case *ast.InlineFragment:
				collect(s.SelectionSet)
			case *ast.FragmentSpread:
				if def := w.frags[s.Name]; def != nil && !seen[s.Name] {
					seen[s.Name] = true
					spreads++
					collect(def.SelectionSet)
				}
			}
		}
	}
	for _, set := range sets {
		collect(set)
	}
	pairs := spreads * (spreads - 1) / 2
	for _, name := range names {
		sub := children[name]
		k := len(sub)
		pairs += k * (k - 1) / 2
		if pairs > maxOverlapPairs || w.err != nil {
			return pairs
		}
		if slices.ContainsFunc(sub, func(s ast.SelectionSet) bool { return len(s) > 0 }) {
			pairs += w.overlapPairs(sub)
		}
	}
	return pairs
}

type fragKey struct {
	name  string
	intro bool // spread inside a __schema or __type selection
}

// fragCost is the expanded size of a selection set. Depths are relative:
// the set's own fields are at depth 1.
type fragCost struct {
	done  bool // false while the fragment is being walked: a cycle
	count int  // selections, saturated just above maxFields
	plain int  // deepest field outside introspection selections
	all   int  // deepest field
}

type docWalker struct {
	ctx    context.Context
	lim    docLimits
	frags  map[string]*ast.FragmentDefinition
	memo   map[fragKey]*fragCost
	visits int
	err    *gqlerror.Error
}

// sat saturates a count just above the limit, so sums never overflow.
func (w *docWalker) sat(n int) int { return min(n, w.lim.maxFields+1) }

// tick counts a visited selection and stops the walk when the client has
// gone away.
func (w *docWalker) tick() bool {
	if w.err != nil {
		return false
	}
	w.visits++
	if w.visits%ctxCheckEvery == 0 && w.ctx.Err() != nil {
		w.err = gqlerror.Errorf("request cancelled")
		errcode.Set(w.err, apierr.CodeInternal)
		return false
	}
	return true
}

func (w *docWalker) walkSet(set ast.SelectionSet, intro bool) fragCost {
	var out fragCost
	for _, sel := range set {
		if !w.tick() {
			return out
		}
		var c fragCost
		switch s := sel.(type) {
		case *ast.Field:
			childIntro := intro || isIntrospectionField(s.Name)
			c = w.walkSet(s.SelectionSet, childIntro)
			c.all++
			if !intro {
				c.plain++
			}
		case *ast.InlineFragment:
			c = w.walkSet(s.SelectionSet, intro)
		case *ast.FragmentSpread:
			c = w.spread(s.Name, intro)
		}
		out.count = w.sat(out.count + 1 + c.count)
		out.plain = max(out.plain, c.plain)
		out.all = max(out.all, c.all)
	}
	return out
}

// spread returns the memoised expanded size of fragment name.
func (w *docWalker) spread(name string, intro bool) fragCost {
	def := w.frags[name]
	if def == nil {
		return fragCost{} // validation reports the unknown fragment
	}
	k := fragKey{name, intro}
	if c, ok := w.memo[k]; ok {
		if !c.done {
			w.err = validationError(fmt.Sprintf("Cannot spread fragment %q within itself.", name))
			return fragCost{}
		}
		return *c
	}
	c := &fragCost{}
	w.memo[k] = c
	*c = w.walkSet(def.SelectionSet, intro)
	c.done = true
	return *c
}

func isIntrospectionField(name string) bool { return name == "__schema" || name == "__type" }

// scanSet checks what the walk of expansions does not need to: introspection
// fields when introspection is off and number literals, once per place they
// are written.
func (w *docWalker) scanSet(set ast.SelectionSet) {
	for _, sel := range set {
		if !w.tick() {
			return
		}
		switch s := sel.(type) {
		case *ast.Field:
			if !w.lim.introspection && isIntrospectionField(s.Name) {
				w.err = gqlerror.ErrorPosf(s.Position, "introspection is disabled")
				errcode.Set(w.err, apierr.CodeBadUserInput)
				return
			}
			for _, a := range s.Arguments {
				w.scanValue(a.Value)
			}
			w.scanDirectives(s.Directives)
			w.scanSet(s.SelectionSet)
		case *ast.InlineFragment:
			w.scanDirectives(s.Directives)
			w.scanSet(s.SelectionSet)
		case *ast.FragmentSpread:
			w.scanDirectives(s.Directives)
		}
	}
}

func (w *docWalker) scanDirectives(ds ast.DirectiveList) {
	for _, d := range ds {
		for _, a := range d.Arguments {
			w.scanValue(a.Value)
		}
	}
}

// scanValue refuses number literals that do not fit int64 or float64.
// gqlparser turns literals into Go values when gqlgen reads arguments and
// panics on these; a Decimal argument accepts any literal, so validation
// lets them through (issue 17 item 12).
func (w *docWalker) scanValue(v *ast.Value) {
	if v == nil || w.err != nil {
		return
	}
	var bad bool
	switch v.Kind {
	case ast.IntValue:
		_, err := strconv.ParseInt(v.Raw, 10, 64)
		bad = err != nil
	case ast.FloatValue:
		_, err := strconv.ParseFloat(v.Raw, 64)
		bad = err != nil
	}
	if bad {
		w.err = gqlerror.ErrorPosf(v.Position, "the number %s is out of range; send large numbers as strings, e.g. \"12.5\"", clipText(v.Raw))
		errcode.Set(w.err, apierr.CodeBadUserInput)
		return
	}
	for _, c := range v.Children {
		w.scanValue(c.Value)
	}
}

func validationError(msg string) *gqlerror.Error {
	err := gqlerror.Errorf("%s", msg)
	errcode.Set(err, errcode.ValidationFailed)
	return err
}

// clipText shortens client text quoted back in an error message.
func clipText(s string) string {
	const n = 24
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
