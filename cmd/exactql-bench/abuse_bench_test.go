package main

// The cost of refusing the hostile documents of issue 17 items 1 and 2,
// next to a plain warm query (compare ns/op):
//
//	go test -run '^$' -bench 'AbuseRefusal' -benchtime 2s ./cmd/exactql-bench/

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// BenchmarkAbuseRefusal serves, anonymously and with introspection off as
// in production mode: "plain", a warm { itemGroups { id code } };
// "spreadBomb26", 26 levels of fragments each spreading the one below twice
// and ending in __type/__schema (~1 KB; 19.4 s before the fix);
// "typenameBomb26", the same ending in __typename; and "aliases900", 900
// product(code:"Ai") under one response name (27 KB; a 97 MB answer before
// the fix).
func BenchmarkAbuseRefusal(b *testing.B) {
	h, _ := inProcessGateway(b, 0)
	bomb := func(leaf string) string {
		var s strings.Builder
		fmt.Fprintf(&s, "query { ...F26 }\nfragment F0 on Query { %s }\n", leaf)
		for i := 1; i <= 26; i++ {
			fmt.Fprintf(&s, "fragment F%d on Query { ...F%d ...F%d }\n", i, i-1, i-1)
		}
		return s.String()
	}
	var aliases strings.Builder
	aliases.WriteString("{")
	for i := range 900 {
		fmt.Fprintf(&aliases, ` p: product(code: "A%d") { id }`, i)
	}
	aliases.WriteString(" }")
	for _, c := range []struct {
		name, query string
		refused     bool
	}{
		{"plain", "{ itemGroups { id code } }", false},
		{"spreadBomb26", bomb(`__type(name: "Query") { name } __schema { queryType { name } }`), true},
		{"typenameBomb26", bomb("__typename"), true},
		{"aliases900", aliases.String(), true},
	} {
		b.Run(c.name, func(b *testing.B) {
			body, _ := json.Marshal(map[string]string{"query": c.query})
			out := serveOnce(b, h, "", body)
			if refused := bytes.Contains(out, []byte(`"errors"`)); refused != c.refused {
				b.Fatalf("answered %.300s", out)
			}
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				serveOnce(b, h, "", body)
			}
		})
	}
}
