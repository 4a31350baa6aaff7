package resolvers

import "context"

// Caller is who sent a request, as established by the server from the bearer
// token (ARCHITECTURE §7).
type Caller struct {
	// Subject is the token's sub claim; empty for an anonymous caller.
	Subject string
	// Account is the Exact Account ID the buyer acts for (exact_account),
	// lower-case; empty when the token names none.
	Account string
	// Contact is the Exact Contact ID of the person ordering (exact_contact),
	// lower-case; empty when the token names none.
	Contact string
	// Anonymous is true when the request carried no Authorization header.
	Anonymous bool
	// RemoteAddr is the client's address (host only), for per-caller limits of
	// anonymous callers.
	RemoteAddr string
}

// IsBuyer reports whether the caller acts for an Exact account: an
// authenticated caller whose token names exact_account. Everyone else reads
// like an anonymous caller and may not order.
func (c Caller) IsBuyer() bool { return !c.Anonymous && c.Account != "" }

// BudgetKey is the key of the caller's own budget of Exact calls: the subject,
// or the client address for anonymous callers; "" for work no caller asked
// for (a context without a caller, such as the order worker's).
func (c Caller) BudgetKey() string {
	if !c.Anonymous && c.Subject != "" {
		return "sub:" + c.Subject
	}
	if c.RemoteAddr == "" {
		return ""
	}
	return "addr:" + c.RemoteAddr
}

type callerKey struct{}

// NewContext returns a copy of ctx carrying c.
func NewContext(ctx context.Context, c Caller) context.Context {
	return context.WithValue(ctx, callerKey{}, c)
}

// FromContext returns the caller carried by ctx. A context without one yields
// an anonymous caller, so forgetting to install it never grants access.
func FromContext(ctx context.Context) Caller {
	if c, ok := ctx.Value(callerKey{}).(Caller); ok {
		return c
	}
	return Caller{Anonymous: true}
}
