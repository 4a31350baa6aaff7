package respcache

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"hash"
	"hash/fnv"
	"strings"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/lexer"
)

// Errors of NewKey. A request that gets one is served without the cache.
var (
	// ErrNoScope is returned for a key without a price scope: the zero
	// Scope. Every answer is someone's, so there is no key without one.
	ErrNoScope = errors.New("respcache: a key needs a price scope")
	// ErrInvalidScope is returned by BuyerScope for an empty account.
	ErrInvalidScope = errors.New("respcache: a buyer scope needs an account")
	// ErrNotQuery is returned for a document that defines a mutation or a
	// subscription: such requests are never looked up nor stored.
	ErrNotQuery = errors.New("respcache: not a read-only document")
	// ErrUnkeyable is returned for a request the cache does not key: no
	// document and no persisted query hash, a document that does not lex,
	// one longer than MaxDocumentBytes, or variables that do not encode.
	ErrUnkeyable = errors.New("respcache: request cannot be keyed")
)

// MaxDocumentBytes is the longest query document NewKey normalises; longer
// ones (far beyond real storefront operations) go uncached.
const MaxDocumentBytes = 64 << 10

// buyerStripes is the number of per-buyer generation counters. Buyers are
// spread over them by a hash of their account, so the memory they take is
// fixed; two buyers sharing a stripe only invalidate each other's entries
// more often than needed, never less.
const buyerStripes = 1024

type scopeKind uint8

const (
	scopeNone scopeKind = iota
	scopePublic
	scopeBuyer
)

// Scope is whose prices an answer shows (ARCHITECTURE §4, §7): the public
// scope of callers that act for no account (anonymous callers and tokens
// without exact_account, who read alike), or one buyer's account. Answers
// are never shared across scopes. The zero Scope is no scope at all and
// every key built with it is refused.
type Scope struct {
	kind    scopeKind
	account string
	stripe  uint16
}

// PublicScope is the scope of callers that act for no account.
func PublicScope() Scope { return Scope{kind: scopePublic} }

// BuyerScope is the scope of the buyer acting for the Exact account (its ID;
// compared case-insensitively). An empty account is ErrInvalidScope.
func BuyerScope(account string) (Scope, error) {
	account = strings.ToLower(strings.TrimSpace(account))
	if account == "" {
		return Scope{}, ErrInvalidScope
	}
	return Scope{kind: scopeBuyer, account: account, stripe: stripeOf(account)}, nil
}

// IsZero reports whether s is the zero Scope (no scope).
func (s Scope) IsZero() bool { return s.kind == scopeNone }

// String is "public", "buyer:<account>" or "none".
func (s Scope) String() string {
	switch s.kind {
	case scopePublic:
		return "public"
	case scopeBuyer:
		return "buyer:" + s.account
	}
	return "none"
}

func stripeOf(account string) uint16 {
	h := fnv.New32a()
	_, _ = h.Write([]byte(account))
	return uint16(h.Sum32() % buyerStripes)
}

// Request is what, beside the scope, decides a GraphQL answer.
type Request struct {
	// Query is the document; it is normalised (whitespace, commas and
	// comments do not count), so documents that differ only in those share
	// a key.
	Query string
	// PersistedHash is the sha256Hash of the automatic persisted query
	// extension; it keys a request that sends no Query. With a Query it is
	// ignored (gqlgen checks the two agree).
	PersistedHash string
	// OperationName is the operation the request selects.
	OperationName string
	// Variables are the request's variables; they are keyed as canonical
	// JSON (object keys sorted). Numbers should be json.Number so they are
	// keyed as written.
	Variables map[string]any
	// Accept is the request's Accept header: it chooses the answer's media
	// type, so requests with different ones do not share an entry.
	Accept string
}

// Key identifies one answer: the request's normalised document (or
// persisted query hash), operation name, variables and Accept header, and
// the price scope. Build it with NewKey; the zero Key matches nothing.
type Key struct {
	sum   [sha256.Size]byte
	scope Scope
	// operation is the operation's name: the request's OperationName, else
	// the name of the document's first operation ("" when unnamed).
	operation string
}

// Operation is the name of the keyed operation: the request's
// OperationName, else the name the document gives its first operation; ""
// for an unnamed one. Metrics label answers served from the cache with it.
func (k Key) Operation() string { return k.operation }

// Scope returns the key's price scope.
func (k Key) Scope() Scope { return k.scope }

// NewKey builds the key of req in scope. The scope is a required argument
// and the zero Scope is ErrNoScope, so no key can leave it out. A document
// that defines a mutation or subscription is ErrNotQuery; see ErrUnkeyable
// for the rest.
func NewKey(scope Scope, req Request) (Key, error) {
	if scope.IsZero() {
		return Key{}, ErrNoScope
	}
	h := sha256.New()
	var docName string
	writeField(h, []byte("exactql-respcache-v1"))
	writeField(h, []byte{byte(scope.kind)})
	writeField(h, []byte(scope.account))
	switch {
	case req.Query != "":
		writeField(h, []byte("doc"))
		name, err := writeDocument(h, req.Query)
		if err != nil {
			return Key{}, err
		}
		docName = name
	case req.PersistedHash != "":
		writeField(h, []byte("apq"))
		writeField(h, []byte(strings.ToLower(req.PersistedHash)))
	default:
		return Key{}, ErrUnkeyable
	}
	writeField(h, []byte(req.OperationName))
	vars, err := canonicalVariables(req.Variables)
	if err != nil {
		return Key{}, err
	}
	writeField(h, vars)
	writeField(h, []byte(req.Accept))
	k := Key{scope: scope, operation: req.OperationName}
	if k.operation == "" {
		k.operation = docName
	}
	h.Sum(k.sum[:0])
	return k, nil
}

// writeField writes b length-prefixed, so no two field sequences hash the
// same bytes.
func writeField(h hash.Hash, b []byte) {
	var n [binary.MaxVarintLen64]byte
	_, _ = h.Write(n[:binary.PutUvarint(n[:], uint64(len(b)))])
	_, _ = h.Write(b)
}

// writeDocument hashes the document's tokens (kind and value; comments
// left out) and refuses documents that define a mutation or subscription:
// a `mutation` or `subscription` name outside any braces and parentheses
// starts such an operation. (A variable type of that name in an operation
// header would be refused too; that only costs a cache miss.) It returns
// the name of the first operation when the document names it.
func writeDocument(h hash.Hash, doc string) (string, error) {
	if len(doc) > MaxDocumentBytes {
		return "", ErrUnkeyable
	}
	lx := lexer.New(&ast.Source{Input: doc})
	depth := 0
	var name string
	// inFragment is true inside a fragment definition at the top level.
	inFragment := false
	// state 0: before the first operation; 1: right after its `query`
	// keyword; 2: its name is known (or it has none).
	state := 0
	for {
		tok, err := lx.ReadToken()
		if err != nil {
			return "", ErrUnkeyable
		}
		switch tok.Kind {
		case lexer.EOF:
			return name, nil
		case lexer.Comment:
			continue
		case lexer.BraceL, lexer.ParenL:
			if depth == 0 && !inFragment && (state == 1 || (state == 0 && tok.Kind == lexer.BraceL)) {
				state = 2 // an unnamed operation
			}
			depth++
		case lexer.BraceR, lexer.ParenR:
			depth--
			if depth == 0 && tok.Kind == lexer.BraceR {
				inFragment = false
			}
		case lexer.Name:
			if depth == 0 && (tok.Value == "mutation" || tok.Value == "subscription") {
				return "", ErrNotQuery
			}
			switch {
			case depth != 0 || inFragment:
			case state == 1:
				name, state = tok.Value, 2
			case state == 0 && tok.Value == "query":
				state = 1
			case tok.Value == "fragment":
				inFragment = true
			}
		}
		writeField(h, []byte{byte(tok.Kind)})
		writeField(h, []byte(tok.Value))
	}
}

// canonicalVariables encodes vars as JSON with sorted object keys; no
// variables and an empty object are the same.
func canonicalVariables(vars map[string]any) ([]byte, error) {
	if len(vars) == 0 {
		return nil, nil
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(vars); err != nil {
		return nil, ErrUnkeyable
	}
	return buf.Bytes(), nil
}
