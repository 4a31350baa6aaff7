package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/exactql/exactql/server"
)

// tokenCommand is `exactql token`: it mints an HS256 caller token with
// EXACTQL_JWT_SECRET (and EXACTQL_JWT_ISSUER, EXACTQL_JWT_AUDIENCE and the
// claim names, so the gateway accepts it) and prints it to stdout. It is for
// development and support; a webshop backend mints its own (docs/tokens.md).
//
// --account takes the Exact Account ID (a GUID) only: turning an account
// code into its ID would need a call to Exact (or a running sandbox), which
// a token minting tool should not make. docs/tokens.md says where to find
// the ID.
func tokenCommand(args []string, getenv func(string) string, stdout io.Writer, now time.Time) error {
	fs := flag.NewFlagSet("token", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	account := fs.String("account", "", "Exact Account ID (GUID) the buyer acts for")
	contact := fs.String("contact", "", "Exact Contact ID (GUID) of the buyer, optional")
	sub := fs.String("sub", "exactql-dev", "subject (user) of the token")
	ttl := fs.Duration("ttl", time.Hour, "lifetime of the token")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("token: %w (usage: exactql token --account <GUID> [--contact <GUID>] [--sub <subject>] [--ttl 1h])", err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("token: unexpected arguments %q", fs.Args())
	}
	cfg, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	if cfg.JWTSecret == "" {
		return errors.New("token: EXACTQL_JWT_SECRET is not set; the gateway must run with the same secret for the token to verify")
	}
	if *account == "" {
		return errors.New("token: --account is required (the Exact Account ID, a GUID)")
	}
	if *ttl <= 0 || *ttl > cfg.JWTMaxTTL {
		return fmt.Errorf("token: --ttl must be positive and at most EXACTQL_JWT_MAX_TTL (%s)", cfg.JWTMaxTTL)
	}
	if strings.TrimSpace(*sub) == "" {
		return errors.New("token: --sub must not be empty")
	}
	tok, err := server.SignTokenWithRules([]byte(cfg.JWTSecret), *sub, *account, *contact, *ttl, now,
		server.TokenRules{Issuer: cfg.JWTIssuer, Audience: cfg.JWTAudience,
			AccountClaim: cfg.ClaimAccount, ContactClaim: cfg.ClaimContact})
	if err != nil {
		// SignToken's errors name the bad argument and carry no secret.
		return fmt.Errorf("token: %w", err)
	}
	fmt.Fprintln(stdout, tok)
	return nil
}
