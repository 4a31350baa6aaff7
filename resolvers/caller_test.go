package resolvers

import "testing"

func TestBudgetKey(t *testing.T) {
	for _, tc := range []struct {
		name string
		c    Caller
		want string
	}{
		{"subject", Caller{Subject: "u1", RemoteAddr: "198.51.100.4"}, "sub:u1"},
		{"anonymous IPv4", Caller{Anonymous: true, RemoteAddr: "198.51.100.4"}, "addr:198.51.100.4"},
		{"anonymous IPv4-mapped", Caller{Anonymous: true, RemoteAddr: "::ffff:198.51.100.4"}, "addr:198.51.100.4"},
		{"anonymous IPv6: its /64", Caller{Anonymous: true, RemoteAddr: "2001:db8:1:2:aaaa:bbbb:cccc:dddd"}, "addr:2001:db8:1:2::/64"},
		{"same /64, other host", Caller{Anonymous: true, RemoteAddr: "2001:db8:1:2::1"}, "addr:2001:db8:1:2::/64"},
		{"next /64", Caller{Anonymous: true, RemoteAddr: "2001:db8:1:3::1"}, "addr:2001:db8:1:3::/64"},
		{"zone dropped", Caller{Anonymous: true, RemoteAddr: "fe80::1%eth0"}, "addr:fe80::/64"},
		{"not an address", Caller{Anonymous: true, RemoteAddr: "pipe"}, "addr:pipe"},
		{"no caller", Caller{Anonymous: true}, ""},
	} {
		if got := tc.c.BudgetKey(); got != tc.want {
			t.Errorf("%s: BudgetKey = %q, want %q", tc.name, got, tc.want)
		}
	}
}
