package main

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/rs/zerolog"
)

// testWiring is a wiring over a small embedded sandbox, its data under
// t.TempDir(), closed when the test ends.
func testWiring(t *testing.T, env map[string]string) *wiring {
	t.Helper()
	base := map[string]string{"EXACTQL_DATA_DIR": t.TempDir(), "EXACTQL_SANDBOX_ITEMS": "20", "EXACTQL_SANDBOX_CUSTOMERS": "10",
		"EXACTQL_SYNC": "false", "EXACTQL_ADDR": "127.0.0.1:0"}
	for k, v := range env {
		base[k] = v
	}
	cfg, err := loadConfig(func(k string) string { return base[k] })
	if err != nil {
		t.Fatal(err)
	}
	g := newWiring(t.Context(), cfg, zerolog.Nop())
	t.Cleanup(g.close)
	return g
}

// run runs the named steps in order and fails the test on the first error.
func (g *wiring) runSteps(t *testing.T, steps ...func() error) {
	t.Helper()
	for _, step := range steps {
		if err := step(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestWiringStepsToTheReadModel: the steps up to the read model need no
// listener; the division comes from the sandbox, the mirror is off as
// configured, and close removes the sandbox's throw-away data directory.
func TestWiringStepsToTheReadModel(t *testing.T) {
	g := testWiring(t, nil)
	g.runSteps(t, g.startSandbox, g.openStore, g.startTokenChain, g.newExactClient, g.newReadModel)
	if g.sb == nil || g.division != g.sb.Division() || g.sqlite == nil || g.shared {
		t.Errorf("sandbox %v, division %d, sqlite %v, shared %v", g.sb != nil, g.division, g.sqlite != nil, g.shared)
	}
	if g.mirror != nil || g.feeds != nil || g.reader == nil || g.respCache == nil {
		t.Errorf("read model: mirror %v, feeds %v, reader %v, response cache %v", g.mirror, g.feeds, g.reader, g.respCache)
	}
	if _, err := g.reader.Warehouses(t.Context()); err != nil {
		t.Errorf("read through the composed read path: %v", err)
	}
	dir := g.dataDir
	if filepath.Dir(dir) != g.cfg.DataDir {
		t.Errorf("data dir %s, want a directory inside %s", dir, g.cfg.DataDir)
	}
	g.close()
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("sandbox data dir after close: %v", err)
	}
}

// TestWiringHandlerWithMirror: with EXACTQL_SYNC the handler step mounts
// the webhook endpoint beside the demo tokens, and the orders step runs its
// worker until close.
func TestWiringHandlerWithMirror(t *testing.T) {
	g := testWiring(t, map[string]string{"EXACTQL_SYNC": "true", "EXACTQL_RESPONSE_CACHE": "off"})
	g.runSteps(t, g.startSandbox, g.openStore, g.startTokenChain, g.newExactClient, g.newReadModel, g.startOrders, g.newHTTPHandler)
	if g.feeds == nil || g.mirror == nil || g.respCache != nil || g.orders == nil || len(g.demo) == 0 || g.handler == nil {
		t.Fatalf("feeds %v, mirror %v, response cache %v, orders %v, demo %d, handler %v",
			g.feeds != nil, g.mirror != nil, g.respCache != nil, g.orders != nil, len(g.demo), g.handler != nil)
	}
	if err := g.serveHTTPOnce(t); err != nil {
		t.Fatal(err)
	}
}

// serveHTTPOnce runs serveHTTP until it reported ready, then stops it.
func (g *wiring) serveHTTPOnce(t *testing.T) error {
	t.Helper()
	ctx, cancel := contextWithCancel(t)
	ready := make(chan started, 1)
	done := make(chan error, 1)
	go func() { done <- g.serveHTTP(ctx, io.Discard, func(s started) { ready <- s }) }()
	select {
	case s := <-ready:
		if s.URL == "" || s.Sandbox != g.sb {
			t.Errorf("started = %+v", s)
		}
	case err := <-done:
		return err
	}
	cancel()
	return <-done
}

func contextWithCancel(t *testing.T) (context.Context, context.CancelFunc) {
	return context.WithCancel(t.Context())
}
