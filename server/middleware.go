package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"runtime/debug"
	"strings"
	"time"

	"github.com/exactql/exactql/apierr"
	"github.com/rs/zerolog"
)

// RequestIDHeader carries the request ID: echoed when the client sent a
// usable one, generated otherwise.
const RequestIDHeader = "X-Request-ID"

const maxRequestIDLen = 128

type requestIDKey struct{}

// RequestIDFromContext returns the request ID the server assigned, or "".
func RequestIDFromContext(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

func requestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get(RequestIDHeader)
		if !validRequestID(id) {
			id = newRequestID()
		}
		w.Header().Set(RequestIDHeader, id)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), requestIDKey{}, id)))
	})
}

// validRequestID accepts short IDs of visible ASCII letters, digits and
// -_.: only, so a client cannot inject anything into logs or headers.
func validRequestID(id string) bool {
	if id == "" || len(id) > maxRequestIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9',
			c == '-', c == '_', c == '.', c == ':':
		default:
			return false
		}
	}
	return true
}

func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b[:])
}

// statusRecorder remembers the status and size of a response for the log.
type statusRecorder struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	n, err := s.ResponseWriter.Write(b)
	s.bytes += n
	return n, err
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// logRequests puts a child of base carrying the request ID into each
// request's context (zerolog.Ctx) and logs one line per request. Headers and
// bodies are never logged: they may carry tokens.
func logRequests(base zerolog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		logger := base.With().Str("request_id", RequestIDFromContext(r.Context())).Logger()
		ctx := logger.WithContext(r.Context())
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r.WithContext(ctx))
		status := rec.status
		if status == 0 {
			status = http.StatusOK
		}
		logger.Info().
			Str("method", r.Method).
			Str("path", r.URL.Path).
			Int("status", status).
			Int("bytes", rec.bytes).
			Dur("duration", time.Since(start)).
			Str("remote", remoteHost(r)).
			Msg("request")
	})
}

// recoverPanics turns a panic in a handler into a 500 with a GraphQL-shaped
// error and logs it with its stack; the stack never reaches the client.
func recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler {
				panic(v)
			}
			zerolog.Ctx(r.Context()).Error().
				Interface("panic", v).
				Bytes("stack", debug.Stack()).
				Msg("panic in handler")
			writeError(w, r, http.StatusInternalServerError, apierr.CodeInternal, "internal error")
		}()
		next.ServeHTTP(w, r)
	})
}

// maxForwardedHops bounds how many X-Forwarded-For entries are examined.
const maxForwardedHops = 32

// ParseTrustedProxies parses EXACTQL_TRUSTED_PROXIES: comma-separated CIDRs
// or single addresses (IPv4 or IPv6) of the reverse proxies in front of the
// gateway. Empty means none.
func ParseTrustedProxies(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		if strings.Contains(part, "/") {
			p, err := netip.ParsePrefix(part)
			if err != nil {
				return nil, fmt.Errorf("server.ParseTrustedProxies: %q is not a CIDR such as 10.0.0.0/8", part)
			}
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(part)
		if err != nil || a.Zone() != "" {
			return nil, fmt.Errorf("server.ParseTrustedProxies: %q is not an IP address or CIDR", part)
		}
		a = a.Unmap()
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

// trusted reports whether a is one of the proxies.
func trusted(proxies []netip.Prefix, a netip.Addr) bool {
	for _, p := range proxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// ClientAddr returns the address of the client behind r. Without trusted
// proxies, or when the peer is not one of them, it is the peer's address
// and X-Forwarded-For is ignored (anyone can send it). When the peer is a
// trusted proxy, X-Forwarded-For is read from the right (each proxy appends
// the address it received the request from) and the right-most address that
// is not a trusted proxy is the client; when every entry is a trusted proxy
// the left-most one is. An entry that is not an address (or a chain longer
// than maxForwardedHops) ends the walk at the last address known good, so a
// forged or garbled header can never name a client the proxies did not
// see. Addresses are returned without port or zone, IPv4-mapped IPv6
// addresses as IPv4.
func ClientAddr(r *http.Request, proxies []netip.Prefix) string {
	peer, ok := parseHostAddr(r.RemoteAddr)
	if !ok {
		return remoteHost(r)
	}
	if len(proxies) == 0 || !trusted(proxies, peer) {
		return peer.String()
	}
	var hops []string
	for _, v := range r.Header.Values("X-Forwarded-For") {
		for h := range strings.SplitSeq(v, ",") {
			hops = append(hops, strings.TrimSpace(h))
		}
	}
	client := peer
	for i, n := len(hops)-1, 0; i >= 0; i, n = i-1, n+1 {
		if n >= maxForwardedHops {
			break
		}
		a, ok := parseHostAddr(hops[i])
		if !ok {
			break
		}
		client = a
		if !trusted(proxies, a) {
			break
		}
	}
	return client.String()
}

// parseHostAddr parses "ip", "ip:port" or "[ipv6]:port".
func parseHostAddr(s string) (netip.Addr, bool) {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap().WithZone(""), true
	}
	a, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(s, "["), "]"))
	if err != nil {
		return netip.Addr{}, false
	}
	return a.Unmap().WithZone(""), true
}

// clientAddress sets r.RemoteAddr to the client's address (ClientAddr, with
// port 0) when the peer is a trusted proxy, so the caller's budget key and
// the request log name the client rather than the proxy.
func clientAddress(proxies []netip.Prefix, next http.Handler) http.Handler {
	if len(proxies) == 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c := ClientAddr(r, proxies); c != remoteHost(r) {
			r2 := r.Clone(r.Context())
			r2.RemoteAddr = net.JoinHostPort(c, "0")
			r = r2
		}
		next.ServeHTTP(w, r)
	})
}
