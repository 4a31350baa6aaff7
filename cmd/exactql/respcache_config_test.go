package main

import (
	"strings"
	"testing"
	"time"
)

func TestResponseCacheSettings(t *testing.T) {
	c, err := loadConfig(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if !c.ResponseCache || c.ResponseCacheTTL != 30*time.Second || c.ResponseCacheBytes != 32<<20 {
		t.Errorf("defaults: on=%v ttl=%s bytes=%d", c.ResponseCache, c.ResponseCacheTTL, c.ResponseCacheBytes)
	}
	c, err = loadConfig(env(map[string]string{"EXACTQL_RESPONSE_CACHE": "OFF", "EXACTQL_RESPONSE_CACHE_TTL": "5s", "EXACTQL_RESPONSE_CACHE_BYTES": "1048576"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.ResponseCache || c.ResponseCacheTTL != 5*time.Second || c.ResponseCacheBytes != 1<<20 {
		t.Errorf("set: on=%v ttl=%s bytes=%d", c.ResponseCache, c.ResponseCacheTTL, c.ResponseCacheBytes)
	}
	for name, m := range map[string]map[string]string{
		"not on or off": {"EXACTQL_RESPONSE_CACHE": "sometimes"},
		"TTL zero":      {"EXACTQL_RESPONSE_CACHE_TTL": "0s"},
		"TTL too long":  {"EXACTQL_RESPONSE_CACHE_TTL": "25h"},
		"TTL garbage":   {"EXACTQL_RESPONSE_CACHE_TTL": "soon"},
		"bytes too few": {"EXACTQL_RESPONSE_CACHE_BYTES": "1000"},
	} {
		_, err := loadConfig(env(m))
		if err == nil {
			t.Errorf("%s: accepted", name)
			continue
		}
		for k := range m {
			if !strings.Contains(err.Error(), k) {
				t.Errorf("%s: error %q does not name %s", name, err, k)
			}
		}
	}
}
