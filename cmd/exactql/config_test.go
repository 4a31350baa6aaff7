package main

import (
	"os"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

// TestREADMEListsEverySetting keeps the README's settings table true.
func TestREADMEListsEverySetting(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range settings {
		if !strings.Contains(string(b), "`"+s.Name+"`") {
			t.Errorf("README.md does not document %s", s.Name)
		}
	}
}

func TestLoadConfig(t *testing.T) {
	c, err := loadConfig(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.Mode != "sandbox" || !c.Playground || c.Addr != "127.0.0.1:8080" || c.TTLStock != time.Minute || c.CallerBudget != 30 || c.MaxOrderLines != 200 {
		t.Errorf("defaults: %+v", c)
	}
	for name, m := range map[string]map[string]string{
		"production without secret": {"EXACT_CLIENT_ID": "x", "EXACT_CLIENT_SECRET": "y"},
		"short jwt secret":          {"EXACT_CLIENT_ID": "x", "EXACT_CLIENT_SECRET": "y", "EXACTQL_JWT_SECRET": "short"},
		"forced production":         {"EXACTQL_MODE": "production"},
		"bad mode":                  {"EXACTQL_MODE": "demo"},
		"bad bool":                  {"EXACTQL_PUBLIC_PRICES": "maybe"},
		"bad duration":              {"EXACTQL_TTL_STOCK": "soon"},
		"bad zone":                  {"EXACTQL_TIMEZONE": "Mars/Olympus"},
		"lines out of range":        {"EXACTQL_MAX_ORDER_LINES": "0"},
		"bad origin":                {"EXACTQL_CORS_ORIGINS": "*"},
	} {
		if _, err := loadConfig(env(m)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	c, err = loadConfig(env(map[string]string{"EXACT_CLIENT_ID": "x", "EXACT_CLIENT_SECRET": "y",
		"EXACTQL_JWT_SECRET": strings.Repeat("s", 32), "EXACTQL_CORS_ORIGINS": "https://shop.example.com, https://app.example.com/"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Mode != "production" || c.Playground || c.Introspection || len(c.CORSOrigins) != 2 {
		t.Errorf("production: %+v", c)
	}
}

func TestRunCommands(t *testing.T) {
	var out strings.Builder
	if err := run(t.Context(), []string{"version"}, env(nil), &out, &out); err != nil || !strings.Contains(out.String(), "exactql") {
		t.Errorf("version: %v %q", err, out.String())
	}
	out.Reset()
	if err := run(t.Context(), []string{"help"}, env(nil), &out, &out); err != nil || !strings.Contains(out.String(), "EXACTQL_CALLER_BUDGET") {
		t.Errorf("help: %v", err)
	}
	if err := run(t.Context(), []string{"frobnicate"}, env(nil), &out, &out); err == nil {
		t.Error("unknown command accepted")
	}
	if err := run(t.Context(), []string{"serve"}, env(map[string]string{"EXACTQL_MODE": "production"}), &out, &out); err == nil {
		t.Error("production without credentials started")
	}
	if err := run(t.Context(), []string{"auth"}, env(nil), &out, &out); err == nil {
		t.Error("auth without an Exact app accepted")
	}
}
