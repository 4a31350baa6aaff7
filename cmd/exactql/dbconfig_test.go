package main

import (
	"strings"
	"testing"
)

func TestLoadConfigDatabaseURL(t *testing.T) {
	prod := map[string]string{"EXACT_CLIENT_ID": "id", "EXACT_CLIENT_SECRET": "s",
		"EXACTQL_JWT_SECRET": "0123456789abcdef0123456789abcdef"}
	with := func(extra map[string]string) func(string) string {
		m := map[string]string{}
		for k, v := range prod {
			m[k] = v
		}
		for k, v := range extra {
			m[k] = v
		}
		return func(k string) string { return m[k] }
	}
	c, err := loadConfig(with(map[string]string{"EXACTQL_DATABASE_URL": " postgres://u:pw@db/exactql "}))
	if err != nil || c.DatabaseURL != "postgres://u:pw@db/exactql" {
		t.Fatalf("production with a URL = %+v, %v", c, err)
	}
	if c, err := loadConfig(with(nil)); err != nil || c.DatabaseURL != "" {
		t.Errorf("without a URL = %q, %v; want SQLite", c.DatabaseURL, err)
	}
	for name, env := range map[string]func(string) string{
		"not postgres": with(map[string]string{"EXACTQL_DATABASE_URL": "mysql://u:s3cret@db/x"}),
		"sandbox mode": func(k string) string {
			return map[string]string{"EXACTQL_DATABASE_URL": "postgres://u:s3cret@db/x"}[k]
		},
	} {
		_, err := loadConfig(env)
		if err == nil || !strings.Contains(err.Error(), "EXACTQL_DATABASE_URL") {
			t.Errorf("%s: err = %v; want EXACTQL_DATABASE_URL refused", name, err)
		} else if strings.Contains(err.Error(), "s3cret") {
			t.Errorf("%s: the error quotes the password: %v", name, err)
		}
	}
}
