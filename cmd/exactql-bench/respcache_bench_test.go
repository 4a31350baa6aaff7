package main

// The response cache side by side with the bare gqlgen baseline, in one run
// (issue 15 items 3 and 4):
//
//	go test -run '^$' -bench 'ResponseCachePage60' ./cmd/exactql-bench/
//
// Each of three rounds measures the bare server, exactql with the cache off
// and with it on, one after the other (rounds alternate). Besides ns/op
// (wall time per request under RunParallel) and allocs/op, each reports
// cpu-µs/op (the process's user+system CPU per request) and the ratios of
// its request rate to the bare server's and to exactql's with the cache off.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/exactql/exactql/cmd/exactql-bench/baregql"
	"github.com/exactql/exactql/server/respcache"
)

// benchRounds is how many alternating rounds BenchmarkResponseCachePage60 runs.
const benchRounds = 3

// cpuTime is the process's user+system CPU time so far.
func cpuTime(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkResponseCachePage60 runs bare gqlgen, exactql with the response
// cache off and with it on, in that order, benchRounds times: issue 15's
// nested 60-product page (exactql as a price-list buyer).
func BenchmarkResponseCachePage60(b *testing.B) {
	rc, err := respcache.New(respcache.Options{})
	if err != nil {
		b.Fatal(err)
	}
	off, offTok := inProcessGatewayWith(b, 0, nil)
	on, onTok := inProcessGatewayWith(b, 0, rc)
	bare := baregql.Handler()
	exactBody, _ := json.Marshal(map[string]string{"query": issue15Query})
	bareBody, _ := json.Marshal(map[string]string{"query": bare15Query})
	if out := serveOnce(b, bare, "", bareBody); bytes.Count(out, []byte(`"unitPrice"`)) != 60 {
		b.Fatalf("bare answered %.300s", out)
	}
	for name, out := range map[string][]byte{
		"off": serveOnce(b, off, offTok, exactBody), "on": serveOnce(b, on, onTok, exactBody),
	} {
		if bytes.Contains(out, []byte(`"errors"`)) || bytes.Count(out, []byte(`"unitPrice"`)) != 60 {
			b.Fatalf("cache %s: warm-up answered %.300s", name, out)
		}
	}
	if a, c := serveOnce(b, off, offTok, exactBody), serveOnce(b, on, onTok, exactBody); !bytes.Equal(a, c) {
		b.Fatalf("the cached answer differs from the computed one:\n%.300s\n%.300s", c, a)
	}

	nsPerOp := map[string]float64{}
	run := func(name string, h http.Handler, tok string, body []byte) {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			cpu0 := cpuTime(b)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					serveOnce(b, h, tok, body)
				}
			})
			b.StopTimer()
			b.ReportMetric(float64((cpuTime(b)-cpu0).Microseconds())/float64(b.N), "cpu-µs/op")
			ns := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
			nsPerOp[name] = ns
			round, side, _ := strings.Cut(name, "/")
			if bare, ok := nsPerOp[round+"/bare"]; ok && side != "bare" {
				b.ReportMetric(bare/ns, "×bare-req/s")
			}
			if offNs, ok := nsPerOp[round+"/cache=off"]; ok && side == "cache=on" {
				b.ReportMetric(offNs/ns, "×off-req/s")
			}
		})
	}
	for round := range benchRounds {
		r := fmt.Sprintf("round=%d/", round+1)
		run(r+"bare", bare, "", bareBody)
		run(r+"cache=off", off, offTok, exactBody)
		run(r+"cache=on", on, onTok, exactBody)
	}
}
