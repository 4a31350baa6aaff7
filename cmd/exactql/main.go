// Command exactql is the GraphQL gateway between a wholesaler's Exact Online
// division and its webshop and ordering app.
//
//	exactql [serve]   run the gateway (default; sandbox mode without EXACT_CLIENT_ID)
//	exactql auth      one-time Exact consent: stores the token chain
//	                  (-paste: paste the redirected URL instead of listening)
//	exactql token     mint an HS256 caller token for development
//	exactql webhooks subscribe|list|unsubscribe   manage Exact webhook subscriptions for EXACTQL_PUBLIC_URL
//	exactql store copy --to postgres://…   move the SQLite store to PostgreSQL
//	exactql version   print the version
//	exactql help      print the settings
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
	_ "time/tzdata" // EXACTQL_TIMEZONE works in a scratch container too
)

// environ lists the process environment, for the unknown-variable warning.
var environ = os.Environ

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := runIO(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "exactql:", err)
		os.Exit(1)
	}
}

// run is the whole program without standard input (`exactql auth -paste`
// then finds none); see runIO.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	return runIO(ctx, args, getenv, strings.NewReader(""), stdout, stderr)
}

// runIO is the whole program; main only wires it to the process. It returns
// when ctx ends (after a graceful shutdown) or on a start-up error. stdin is
// read only by `exactql auth` in paste mode.
func runIO(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 {
		cmd, args = args[0], args[1:]
	}
	if cmd == "token" {
		return tokenCommand(args, getenv, stdout, time.Now())
	}
	if cmd == "webhooks" {
		cfg, err := loadConfig(getenv)
		if err != nil {
			return err
		}
		return webhooksCmd(ctx, cfg, args, stdout)
	}
	if cmd == "store" {
		return storeCommand(ctx, args, getenv, stdout)
	}
	paste := false
	if cmd == "auth" && len(args) == 1 && (args[0] == "-paste" || args[0] == "--paste") {
		paste, args = true, nil
	}
	if len(args) > 0 {
		return fmt.Errorf("%s: unexpected arguments %q (configuration comes from the environment; see `exactql help`)", cmd, args)
	}
	switch cmd {
	case "serve":
		cfg, err := loadConfig(getenv)
		if err != nil {
			return err
		}
		cfg.Warnings = unknownVariables(environ())
		return serve(ctx, cfg, stdout, stderr, nil)
	case "auth":
		cfg, err := loadConfig(withoutCallerSecret(getenv))
		if err != nil {
			return err
		}
		return auth(ctx, cfg, stdin, stdout, paste)
	case "version":
		fmt.Fprintln(stdout, "exactql", version)
		return nil
	case "help", "-h", "--help":
		printHelp(stdout)
		return nil
	default:
		return fmt.Errorf("unknown command %q (serve, auth, token, webhooks, store, version, help)", cmd)
	}
}

func printHelp(w io.Writer) {
	fmt.Fprintln(w, "usage: exactql [serve|auth [-paste]|token|webhooks subscribe|list|unsubscribe|store copy --to postgres://…|version|help]\n       exactql token --account <GUID> [--contact <GUID>] [--sub <subject>] [--ttl 1h]")
	fmt.Fprintln(w, "\nSettings (environment variables):")
	for _, s := range settings {
		fmt.Fprintf(w, "  %-28s %s (default: %s)\n", s.Name, s.Help, s.DefaultText())
	}
}

// withoutCallerSecret lets `exactql auth` run without EXACTQL_JWT_SECRET:
// it verifies no caller tokens, so production mode's demand for the secret
// does not apply to it. An unset secret reads as a placeholder that only
// passes the check; auth never uses it.
func withoutCallerSecret(getenv func(string) string) func(string) string {
	return func(k string) string {
		if v := getenv(k); v != "" || k != "EXACTQL_JWT_SECRET" {
			return v
		}
		return "unused-by-exactql-auth-0123456789abcdef"
	}
}
