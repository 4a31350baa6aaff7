package main

import (
	"os"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

// TestREADMESettingsTable ties the settings table to README.md's: every
// setting has a row with the same default, and no row names a variable
// that is not a setting.
func TestREADMESettingsTable(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, table, ok := strings.Cut(string(b), "\n| Variable | Meaning | Default |\n| --- | --- | --- |\n")
	if !ok {
		t.Fatal("README.md has no settings table")
	}
	table, _, _ = strings.Cut(table, "\n\n")
	documented := map[string]string{}
	for _, row := range strings.Split(table, "\n") {
		cells := strings.Split(strings.Trim(row, "| "), " | ")
		name := strings.Trim(cells[0], "`")
		if len(cells) < 3 {
			t.Errorf("README row %q: want | name | meaning | default |", row)
			continue
		}
		documented[name] = cells[len(cells)-1]
	}
	known := map[string]bool{}
	for _, s := range settings {
		known[s.Name] = true
		got, ok := documented[s.Name]
		switch {
		case !ok:
			t.Errorf("README.md does not document %s", s.Name)
		case !sameDefault(got, s.DefaultText()):
			t.Errorf("README.md gives %s the default %q; the settings table says %q", s.Name, got, s.DefaultText())
		}
	}
	for name := range documented {
		if !known[name] {
			t.Errorf("README.md documents %s, which is not a setting", name)
		}
	}
}

// sameDefault compares two written defaults, as durations when both are
// (60s and 1m are the same default).
func sameDefault(a, b string) bool {
	da, errA := time.ParseDuration(a)
	db, errB := time.ParseDuration(b)
	if errA == nil && errB == nil {
		return da == db
	}
	return a == b
}

// TestSettingsDefaultsParse: every plain default is a value its own parser
// accepts, so a default cannot be stated in a form that fails at start.
func TestSettingsDefaultsParse(t *testing.T) {
	for _, s := range settings {
		if s.Default == "" {
			continue
		}
		p := parser{getenv: func(string) string { return "" }, name: s.Name}
		s.parse(&p, &config{Mode: "production"}, s.Default)
		if p.err != nil {
			t.Errorf("%s: default %q: %v", s.Name, s.Default, p.err)
		}
	}
}

func TestLoadConfig(t *testing.T) {
	c, err := loadConfig(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.Mode != "sandbox" || !c.Playground || c.Addr != "127.0.0.1:8080" || c.TTLs.Stock != time.Minute || c.CallerBudget != 30 || c.MaxOrderLines != 200 {
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
