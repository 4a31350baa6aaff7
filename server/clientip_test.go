package server

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"

	"github.com/rs/zerolog"

	"github.com/exactql/exactql/resolvers"
)

func mustProxies(t *testing.T, s string) []netip.Prefix {
	t.Helper()
	p, err := ParseTrustedProxies(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestParseTrustedProxies(t *testing.T) {
	got, err := ParseTrustedProxies(" 10.0.0.0/8, 192.168.1.7 ,2001:db8::/32,::ffff:172.16.0.1,")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"10.0.0.0/8", "192.168.1.7/32", "2001:db8::/32", "172.16.0.1/32"}
	if len(got) != len(want) {
		t.Fatalf("got %v", got)
	}
	for i := range want {
		if got[i].String() != want[i] {
			t.Errorf("[%d] = %v, want %s", i, got[i], want[i])
		}
	}
	if p, err := ParseTrustedProxies(""); err != nil || len(p) != 0 {
		t.Errorf("empty: %v %v", p, err)
	}
	for _, bad := range []string{"10.0.0.0/33", "proxy.internal", "10.0.0.1/8/2", "fe80::1%eth0", "*"} {
		if _, err := ParseTrustedProxies(bad); err == nil {
			t.Errorf("ParseTrustedProxies(%q) accepted", bad)
		}
	}
}

func TestClientAddr(t *testing.T) {
	proxies := mustProxies(t, "10.0.0.0/8,2001:db8:ffff::/48")
	tests := []struct {
		name    string
		peer    string
		xff     []string
		proxies []netip.Prefix
		want    string
	}{
		{"no proxies: header ignored", "203.0.113.9:5000", []string{"1.2.3.4"}, nil, "203.0.113.9"},
		{"untrusted peer: header ignored", "203.0.113.9:5000", []string{"1.2.3.4"}, proxies, "203.0.113.9"},
		{"trusted peer without header", "10.0.0.2:5000", nil, proxies, "10.0.0.2"},
		{"one proxy", "10.0.0.2:5000", []string{"198.51.100.4"}, proxies, "198.51.100.4"},
		{"spoofed left part ignored", "10.0.0.2:5000", []string{"1.2.3.4, 198.51.100.4"}, proxies, "198.51.100.4"},
		{"two proxies", "10.0.0.2:5000", []string{"1.2.3.4, 198.51.100.4, 10.9.9.9"}, proxies, "198.51.100.4"},
		{"several headers in order", "10.0.0.2:5000", []string{"1.2.3.4", "198.51.100.4, 10.9.9.9"}, proxies, "198.51.100.4"},
		{"all trusted: left-most", "10.0.0.2:5000", []string{"10.1.1.1, 10.9.9.9"}, proxies, "10.1.1.1"},
		{"garbage ends the walk", "10.0.0.2:5000", []string{"1.2.3.4, unknown, 10.9.9.9"}, proxies, "10.9.9.9"},
		{"garbage right-most: the proxy", "10.0.0.2:5000", []string{"1.2.3.4, <script>"}, proxies, "10.0.0.2"},
		{"with port", "10.0.0.2:5000", []string{"198.51.100.4:61000"}, proxies, "198.51.100.4"},
		{"IPv6 client behind IPv6 proxy", "[2001:db8:ffff::1]:443", []string{"[2001:db8:1:2:3:4:5:6]:1234"}, proxies, "2001:db8:1:2:3:4:5:6"},
		{"IPv4-mapped peer", "[::ffff:10.0.0.2]:5000", []string{"198.51.100.4"}, proxies, "198.51.100.4"},
		{"mapped client unmapped", "10.0.0.2:5000", []string{"::ffff:198.51.100.4"}, proxies, "198.51.100.4"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.RemoteAddr = tc.peer
			for _, v := range tc.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if got := ClientAddr(r, tc.proxies); got != tc.want {
				t.Errorf("ClientAddr = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestClientAddrLongChain: a chain of trusted addresses longer than the
// walk stops at the last address examined, never at a client the proxies
// did not see.
func TestClientAddrLongChain(t *testing.T) {
	proxies := mustProxies(t, "10.0.0.0/8")
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.RemoteAddr = "10.0.0.2:5000"
	r.Header.Add("X-Forwarded-For", "6.6.6.6")
	for range maxForwardedHops + 5 {
		r.Header.Add("X-Forwarded-For", "10.1.2.3")
	}
	if got := ClientAddr(r, proxies); got != "10.1.2.3" {
		t.Errorf("ClientAddr = %q", got)
	}
}

// TestBudgetKeyBehindProxy: through the whole server, anonymous callers
// behind a trusted proxy get budget keys of their own, IPv6 callers one
// per /64, and a client that is not a proxy cannot choose its key.
func TestBudgetKeyBehindProxy(t *testing.T) {
	keyOf := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(resolvers.FromContext(r.Context()).BudgetKey()))
	})
	h, err := New(Config{JWTSecret: testSecret, TrustedProxies: mustProxies(t, "10.0.0.0/8")},
		Deps{Logger: zerolog.Nop(), Resolvers: testRoot{}, Images: keyOf})
	if err != nil {
		t.Fatal(err)
	}
	get := func(peer, xff string) string {
		r := httptest.NewRequest(http.MethodGet, "/images/x", nil)
		r.RemoteAddr = peer
		if xff != "" {
			r.Header.Set("X-Forwarded-For", xff)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		return rec.Body.String()
	}
	for _, tc := range []struct{ peer, xff, want string }{
		{"10.0.0.2:1", "198.51.100.4", "addr:198.51.100.4"},
		{"10.0.0.2:1", "198.51.100.5", "addr:198.51.100.5"},
		{"10.0.0.2:1", "2001:db8:1:2::1", "addr:2001:db8:1:2::/64"},
		{"10.0.0.2:1", "2001:db8:1:2:ffff:ffff:ffff:ffff", "addr:2001:db8:1:2::/64"},
		{"10.0.0.2:1", "2001:db8:1:3::1", "addr:2001:db8:1:3::/64"},
		{"203.0.113.9:1", "198.51.100.4", "addr:203.0.113.9"},
		{"[2001:db8:7:7:1::9]:1", "198.51.100.4", "addr:2001:db8:7:7::/64"},
	} {
		if got := get(tc.peer, tc.xff); got != tc.want {
			t.Errorf("peer %s XFF %s: key %q, want %q", tc.peer, tc.xff, got, tc.want)
		}
	}
}
