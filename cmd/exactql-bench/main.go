// Command exactql-bench measures where exactql stands (issue #7): the Exact
// calls a product page costs cold, with reference data cached and warm; how
// concurrent cold queries coalesce; cached throughput as a ratio to a bare
// gqlgen server; a shop day with the mirror against Exact's real budget;
// memory and cache behaviour on a large catalog; and the mirror's first
// pass, memory and search latency at 50,000 items, and a burst of cold
// product queries on the live fallback (issue #12).
//
// Run it from the repository root:
//
//	go run ./cmd/exactql-bench [-quick] [-out bench.md] [-only cold,coalesce,throughput,shopday,scale,mirrorscale,fallbackburst]
//
// It builds ./cmd/exactql and runs it as a subprocess in production mode
// against an in-process Exact sandbox, so every Exact call is counted at the
// sandbox. All figures of one kind are measured side by side in one run,
// because the machines are noisy.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/exactql/exactql/cmd/exactql-bench/baregql"
)

// today is the generated data sets' "today": the same for every sandbox of
// a run, so that the bench can regenerate a sandbox's data to list its buyers.
var today = time.Now()

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "exactql-bench:", err)
		os.Exit(1)
	}
}

// scenarios in the order they run.
var scenarios = []string{"cold", "coalesce", "throughput", "shopday", "scale", "mirrorscale", "fallbackburst"}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("exactql-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	quick := fs.Bool("quick", false, "short version (about 2 minutes): fewer rounds, 30 s shop day, 5,000-item scale test")
	out := fs.String("out", "", "also write the tables as markdown to this file")
	only := fs.String("only", strings.Join(scenarios, ","), "comma-separated scenarios to run: "+strings.Join(scenarios, ", "))
	dayLimit := fs.Int("shop-day-limit", 5_000, "the sandbox's daily call budget in the shop day (Exact's default, 5,000)")
	keep := fs.Bool("keep", false, "keep the work directory (gateway logs) instead of removing it")
	serveBare := fs.String("serve-bare", "", "internal: serve the bare gqlgen baseline on this address")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *serveBare != "" {
		return serveBaseline(ctx, *serveBare, stdout)
	}
	want := map[string]bool{}
	for s := range strings.SplitSeq(*only, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		known := false
		for _, k := range scenarios {
			known = known || k == s
		}
		if !known {
			return fmt.Errorf("unknown scenario %q (known: %s)", s, strings.Join(scenarios, ", "))
		}
		want[s] = true
	}

	dir, err := os.MkdirTemp("", "exactql-bench-")
	if err != nil {
		return err
	}
	if *keep {
		fmt.Fprintln(stderr, "work directory:", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	start := time.Now()
	logf := func(format string, a ...any) {
		fmt.Fprintf(stderr, "[%5.1fs] %s\n", time.Since(start).Seconds(), fmt.Sprintf(format, a...))
	}
	logf("building ./cmd/exactql")
	bin, err := buildGateway(ctx, dir)
	if err != nil {
		return err
	}
	e := &env{ctx: ctx, bin: bin, dir: dir, quick: *quick, dayLimit: *dayLimit, log: logf}
	if !*quick {
		e.deadline = start.Add(9*time.Minute + 20*time.Second)
	}

	mode := "full"
	if *quick {
		mode = "quick"
	}
	rep := &report{Title: "exactql benchmark (" + mode + ")"}
	rep.Preamble = append(rep.Preamble, machine(), "load average at start: "+loadAvg())
	runs := map[string]func(*report) error{"cold": e.coldCost, "coalesce": e.coalescing,
		"throughput": e.throughput, "shopday": e.shopDay, "scale": e.scale, "mirrorscale": e.mirrorScale,
		"fallbackburst": e.fallbackBurst}
	var failed []string
	// Each table is printed (and the markdown file rewritten) as soon as it
	// is measured, so an interrupted run keeps what it has.
	printed := 0
	flush := func() error {
		for ; printed < len(rep.Sections); printed++ {
			rep.Sections[printed].writeText(stdout)
		}
		if *out == "" {
			return nil
		}
		f, err := os.Create(*out)
		if err != nil {
			return err
		}
		rep.writeMarkdown(f)
		return f.Close()
	}
	rep.writeHeader(stdout)
	for _, name := range scenarios {
		if !want[name] {
			continue
		}
		t0 := time.Now()
		if err := runs[name](rep); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			failed = append(failed, name)
			s := rep.section(name+": failed", "error")
			s.add(err.Error())
			logf("%s failed: %v", name, err)
		}
		logf("%s done in %s", name, time.Since(t0).Round(time.Second))
		if err := flush(); err != nil {
			return err
		}
	}
	end := fmt.Sprintf("load average at end: %s; total time %s", loadAvg(), time.Since(start).Round(time.Second))
	rep.Preamble = append(rep.Preamble, end)
	fmt.Fprintln(stdout, "\n"+end)
	if err := flush(); err != nil {
		return err
	}
	if len(failed) > 0 {
		return fmt.Errorf("scenarios failed: %s", strings.Join(failed, ", "))
	}
	return nil
}

// serveBaseline serves the bare gqlgen server until ctx ends, announcing its
// endpoint on stdout like exactql does.
func serveBaseline(ctx context.Context, addr string, stdout io.Writer) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: baregql.Handler(), ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	fmt.Fprintf(stdout, "GraphQL endpoint: http://%s/graphql\n", ln.Addr())
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return nil
}

// machine describes the host: CPU model and count, Go version.
func machine() string {
	model := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.SplitSeq(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "model name"); ok {
				model = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
				break
			}
		}
	}
	return fmt.Sprintf("machine: %s, %d CPUs (GOMAXPROCS %d), %s %s/%s", model, runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}
