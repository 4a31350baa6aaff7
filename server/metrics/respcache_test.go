package metrics_test

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/exactql/exactql/server/metrics"
)

func TestResponseCache(t *testing.T) {
	st := metrics.ResponseCacheStats{Hits: 7, Misses: 3, Bytes: 4096}
	m := metrics.New(metrics.Options{NoRuntimeMetrics: true})
	if err := m.WatchResponseCache(func() metrics.ResponseCacheStats { return st }); err != nil {
		t.Fatalf("WatchResponseCache: %v", err)
	}
	fams := scrape(t, m)
	for name, want := range map[string][]string{
		"exactql_response_cache_hits_total":   {" 7"},
		"exactql_response_cache_misses_total": {" 3"},
		"exactql_response_cache_bytes":        {" 4096"},
	} {
		if diff := cmp.Diff(want, series(fams, name)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", name, diff)
		}
	}
	if err := m.WatchResponseCache(func() metrics.ResponseCacheStats { return st }); !errors.Is(err, metrics.ErrRegistered) {
		t.Errorf("second WatchResponseCache = %v, want ErrRegistered", err)
	}
}

func TestObserveCachedAnswer(t *testing.T) {
	m := metrics.New(metrics.Options{NoRuntimeMetrics: true})
	m.ObserveCachedAnswer("", time.Millisecond)
	m.ObserveCachedAnswer("NeverExecuted", time.Millisecond)
	got := series(scrape(t, m), "exactql_graphql_requests_total")
	if diff := cmp.Diff([]string{"operation=anonymous 1", "operation=other 1"}, got); diff != "" {
		t.Errorf("exactql_graphql_requests_total (-want +got):\n%s", diff)
	}
}
