package server

import (
	"context"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/validator/core"
	"github.com/vektah/gqlparser/v2/validator/rules"
)

// MaxErrors is the most errors one answer carries (issue 17 item 2: the
// overlapping-fields rule reported one error per conflicting pair, 97 MB
// for a 27 KB request). An answer that had more says so with
// extensions.errorsTruncated.
const MaxErrors = 20

// suggestionFree maps gqlparser's rules that add "Did you mean …?" to their
// variants without suggestions: suggestions name schema fields, types and
// arguments, which introspection being off should keep to themselves.
var suggestionFree = map[string]core.Rule{
	rules.FieldsOnCorrectTypeRule.Name: rules.FieldsOnCorrectTypeRuleWithoutSuggestions,
	rules.KnownArgumentNamesRule.Name:  rules.KnownArgumentNamesRuleWithoutSuggestions,
	rules.KnownTypeNamesRule.Name:      rules.KnownTypeNamesRuleWithoutSuggestions,
	rules.ScalarLeafsRule.Name:         rules.ScalarLeafsRuleWithoutSuggestions,
	rules.ValuesOfCorrectTypeRule.Name: rules.ValuesOfCorrectTypeRuleWithoutSuggestions,
}

// validationRules returns gqlgen's default-rules function: the standard
// rules without suggestions, plus extra (tests add a rule that counts what
// validation visits), where all rules of one validation together report at
// most MaxErrors+1 errors. Errors past that are never built, so a document
// with many thousand conflicts costs no memory for them; the one extra
// tells capErrors that the answer was cut.
func validationRules(extra ...core.Rule) func() *rules.Rules {
	var base []core.Rule
	for name, fn := range rules.NewDefaultRules().GetInner() {
		if r, ok := suggestionFree[name]; ok {
			base = append(base, r)
			continue
		}
		base = append(base, core.Rule{Name: name, RuleFunc: fn})
	}
	base = append(base, extra...)
	return func() *rules.Rules {
		reported := 0
		out := rules.NewRules()
		for _, r := range base {
			fn := r.RuleFunc
			out.AddRule(r.Name, func(ev *core.Events, addError core.AddErrFunc) {
				fn(ev, func(opts ...core.ErrorOption) {
					if reported > MaxErrors {
						return
					}
					reported++
					addError(opts...)
				})
			})
		}
		return out
	}
}

// capErrors keeps the first MaxErrors errors of an answer and sets
// extensions.errorsTruncated when there were more.
func capErrors(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
	resp := next(ctx)
	if resp == nil || len(resp.Errors) <= MaxErrors {
		return resp
	}
	resp.Errors = resp.Errors[:MaxErrors:MaxErrors]
	if resp.Extensions == nil {
		resp.Extensions = map[string]any{}
	}
	resp.Extensions["errorsTruncated"] = true
	return resp
}
