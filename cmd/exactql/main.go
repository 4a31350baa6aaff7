// Command exactql is the GraphQL gateway between a wholesaler's Exact Online
// division and its webshop and ordering app.
//
//	exactql [serve]   run the gateway (default; sandbox mode without EXACT_CLIENT_ID)
//	exactql auth      one-time Exact consent: stores the token chain
//	exactql token     mint an HS256 caller token for development
//	exactql version   print the version
//	exactql help      print the settings
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
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
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "exactql:", err)
		os.Exit(1)
	}
}

// run is the whole program; main only wires it to the process. It returns
// when ctx ends (after a graceful shutdown) or on a start-up error.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 {
		cmd, args = args[0], args[1:]
	}
	if cmd == "token" {
		return tokenCommand(args, getenv, stdout, time.Now())
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
		cfg, err := loadConfig(getenv)
		if err != nil {
			return err
		}
		return auth(ctx, cfg, stdout)
	case "version":
		fmt.Fprintln(stdout, "exactql", version)
		return nil
	case "help", "-h", "--help":
		printHelp(stdout)
		return nil
	default:
		return fmt.Errorf("unknown command %q (serve, auth, token, version, help)", cmd)
	}
}

func printHelp(w io.Writer) {
	fmt.Fprintln(w, "usage: exactql [serve|auth|token|version|help]\n       exactql token --account <GUID> [--contact <GUID>] [--sub <subject>] [--ttl 1h]")
	fmt.Fprintln(w, "\nSettings (environment variables):")
	for _, s := range settings {
		fmt.Fprintf(w, "  %-28s %s (default: %s)\n", s.Name, s.Help, orNone(s.Default))
	}
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
