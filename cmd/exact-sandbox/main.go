// Command exact-sandbox serves the Exact Online sandbox (package
// erp/sandbox) on a local address, for manual testing and demos.
//
//	exact-sandbox [-addr 127.0.0.1:8090] [-seed 1] [-items 2000] [-customers 150]
//	              [-warehouses 3] [-minute-limit 60] [-day-limit 5000]
//	              [-token-lifetime 10m] [-refresh-window 30s] [-json]
//
// It prints the base URL, division, client id and secret, redirect URL and a
// ready refresh token; with -json exactly one JSON object on the first line
// of stdout (keys base_url, division, client_id, client_secret,
// redirect_url, refresh_token). SIGINT or SIGTERM shut it down gracefully.
// EXACT_SANDBOX_ADDR sets the default of -addr.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/exactql/exactql/erp/sandbox"
	"github.com/exactql/exactql/erp/sandbox/gen"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "exact-sandbox:", err)
		os.Exit(1)
	}
}

// startup is what the command prints once it listens.
type startup struct {
	BaseURL      string `json:"base_url"`
	Division     int    `json:"division"`
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret"`
	RedirectURL  string `json:"redirect_url"`
	RefreshToken string `json:"refresh_token"`
}

// run parses args, opens the listener, prints the startup information and
// serves until ctx ends or SIGINT/SIGTERM arrives.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()

	def := gen.DefaultOptions()
	addrDefault := "127.0.0.1:8090"
	if v := getenv("EXACT_SANDBOX_ADDR"); v != "" {
		addrDefault = v
	}
	fs := flag.NewFlagSet("exact-sandbox", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", addrDefault, "listen address (host:port; port 0 picks a free one)")
	seed := fs.Int64("seed", def.Seed, "data generator seed")
	items := fs.Int("items", def.Items, "number of items")
	customers := fs.Int("customers", def.Customers, "number of customers")
	warehouses := fs.Int("warehouses", def.Warehouses, "number of warehouses")
	minuteLimit := fs.Int("minute-limit", 60, "API calls per minute")
	dayLimit := fs.Int("day-limit", 5000, "API calls per day")
	tokenLifetime := fs.Duration("token-lifetime", 600*time.Second, "access token lifetime")
	refreshWindow := fs.Duration("refresh-window", 30*time.Second, "refresh allowed when the access token has at most this left")
	asJSON := fs.Bool("json", false, "print the startup information as one JSON line")
	pessimistic := fs.Bool("pessimistic", false, "turn on every pessimistic switch (substringof 501, Account eq null 400, URL length, line re-pricing, Remarks truncation)")
	blockErrors := fs.Bool("block-errors", false, "block an endpoint for the hour after 10 error answers, as Exact does")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("main.run: %w", err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("main.run: unexpected arguments %q", fs.Args())
	}

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("main.run: %w", err)
	}
	data := def
	data.Today = time.Time{} // the sandbox uses its clock
	data.Seed, data.Items, data.Customers, data.Warehouses = *seed, *items, *customers, *warehouses
	sb := sandbox.New(sandbox.Options{
		Data:             data,
		MinuteLimit:      *minuteLimit,
		DayLimit:         *dayLimit,
		TokenLifetime:    *tokenLifetime,
		BlockAfterErrors: *blockErrors,
		RefreshWindow:    *refreshWindow,
	})
	if *pessimistic {
		sb.Faults().SetPessimistic(true)
	}

	info := startup{
		BaseURL:      "http://" + ln.Addr().String(),
		Division:     sb.Division(),
		ClientID:     sb.ClientID(),
		ClientSecret: sb.ClientSecret(),
		RedirectURL:  sb.RedirectURL(),
		RefreshToken: sb.IssueRefreshToken(),
	}
	if *asJSON {
		b, _ := json.Marshal(info)
		_, err = fmt.Fprintf(stdout, "%s\n", b)
	} else {
		_, err = fmt.Fprintf(stdout, "Exact Online sandbox listening on %s\n  division:      %d\n  client id:     %s\n  client secret: %s\n  redirect URL:  %s\n  refresh token: %s\n  control API:   %s/sandbox/\n",
			info.BaseURL, info.Division, info.ClientID, info.ClientSecret, info.RedirectURL, info.RefreshToken, info.BaseURL)
	}
	if err != nil {
		_ = ln.Close()
		return fmt.Errorf("main.run: %w", err)
	}

	srv := &http.Server{Handler: sb, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("main.run: %w", err)
	case <-ctx.Done():
	}
	shutCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutCtx); err != nil {
		return fmt.Errorf("main.run: shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("main.run: %w", err)
	}
	return nil
}
