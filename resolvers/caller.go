package resolvers

import (
	"context"
	"net/netip"
)

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
// for (a context without a caller, such as the order worker's). IPv6
// clients share one key per /64, the block one subscriber usually gets, so
// hopping through its addresses does not multiply the budget.
func (c Caller) BudgetKey() string {
	if !c.Anonymous && c.Subject != "" {
		return "sub:" + c.Subject
	}
	if c.RemoteAddr == "" {
		return ""
	}
	return "addr:" + addrGroup(c.RemoteAddr)
}

// addrGroup is an address's budget group: the address itself for IPv4, its
// /64 for IPv6; text that is no address is kept as it is.
func addrGroup(s string) string {
	a, err := netip.ParseAddr(s)
	if err != nil {
		return s
	}
	a = a.Unmap()
	if a.Is4() {
		return a.String()
	}
	p, err := a.WithZone("").Prefix(64)
	if err != nil {
		return s
	}
	return p.String()
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
