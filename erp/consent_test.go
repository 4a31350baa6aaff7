package erp_test

import (
	"context"
	"errors"
	"html"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/exactql/exactql/erp"
	"github.com/exactql/exactql/erp/sandbox"
)

// freeLoopbackAddr returns a loopback address that was free a moment ago.
// RunConsent needs the exact port of the registered redirect URL.
func freeLoopbackAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func TestConsentURL(t *testing.T) {
	got := erp.ConsentURL(erp.ConsentOptions{BaseURL: "https://start.exactonline.nl/", ClientID: "abc", RedirectURL: "http://localhost:8765/cb", State: "xyz"})
	u, err := url.Parse(got)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if u.Scheme+"://"+u.Host+u.Path != "https://start.exactonline.nl/api/oauth2/auth" ||
		q.Get("client_id") != "abc" || q.Get("redirect_uri") != "http://localhost:8765/cb" ||
		q.Get("response_type") != "code" || q.Get("state") != "xyz" {
		t.Errorf("ConsentURL = %q", got)
	}
}

func TestRunConsentEndToEnd(t *testing.T) {
	clock := newFakeClock()
	redirect := "http://" + freeLoopbackAddr(t) + "/callback"
	f := newFakeExact(t, clock, 600*time.Second, 30*time.Second, redirect)
	s := openStore(t, t.TempDir(), clock)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()

	type page struct {
		status int
		body   string
		err    error
	}
	pages := make(chan page, 2)
	browser := func(u string) {
		// Refuse a forged redirect first (wrong state), then follow the
		// consent URL like a browser.
		go func() {
			resp, err := http.Get(redirect + "?code=forged&state=wrong")
			if err != nil {
				pages <- page{err: err}
				return
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			pages <- page{status: resp.StatusCode, body: string(b)}

			resp, err = http.Get(u)
			if err != nil {
				pages <- page{err: err}
				return
			}
			b, _ = io.ReadAll(resp.Body)
			resp.Body.Close()
			pages <- page{status: resp.StatusCode, body: string(b)}
		}()
	}
	err := erp.RunConsent(ctx, erp.ConsentOptions{
		BaseURL: f.srv.URL, ClientID: testClientID, ClientSecret: testSecret,
		RedirectURL: redirect, Store: s, State: "st4te", Now: clock.Now,
	}, browser)
	if err != nil {
		t.Fatalf("RunConsent: %v", err)
	}
	forged, done := <-pages, <-pages
	if forged.err != nil || forged.status != http.StatusBadRequest {
		t.Errorf("forged redirect = %d %v, want 400", forged.status, forged.err)
	}
	if done.err != nil || done.status != http.StatusOK || !strings.Contains(done.body, "connected") {
		t.Errorf("done page = %d %q %v", done.status, done.body, done.err)
	}
	st, err := s.LoadToken(ctx)
	if err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	live := f.refresh
	f.mu.Unlock()
	if st.RefreshToken != live || st.AccessToken == "" || !st.Expiry.Equal(clock.Now().Add(600*time.Second)) || st.ConsentNeeded != "" {
		t.Errorf("stored token = expiry %v consent %q, refresh matches: %v", st.Expiry, st.ConsentNeeded, st.RefreshToken == live)
	}
	if n := f.sb.Stats().CodeExchanges; n != 1 {
		t.Errorf("%d codes exchanged, want 1 (the code with '!' must arrive decoded)", n)
	}
	assertNoSecrets(t, f, done.body, forged.body)
}

func TestRunConsentDeniedAndBadCode(t *testing.T) {
	clock := newFakeClock()
	f := newFakeExact(t, clock, 600*time.Second, 30*time.Second)
	s := openStore(t, t.TempDir(), clock)
	for _, tc := range []struct {
		name  string
		query string
		want  error
	}{
		{"denied", "error=access_denied&state=s", erp.ErrConsentDenied},
		{"unknown code", "code=nope%21x&state=s", erp.ErrConsentRequired},
	} {
		t.Run(tc.name, func(t *testing.T) {
			redirect := "http://" + freeLoopbackAddr(t) + "/cb"
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			defer cancel()
			status := make(chan int, 1)
			err := erp.RunConsent(ctx, erp.ConsentOptions{
				BaseURL: f.srv.URL, ClientID: testClientID, ClientSecret: testSecret,
				RedirectURL: redirect, Store: s, State: "s",
			}, func(string) {
				go func() {
					resp, err := http.Get(redirect + "?" + tc.query)
					if err != nil {
						status <- 0
						return
					}
					resp.Body.Close()
					status <- resp.StatusCode
				}()
			})
			if !errors.Is(err, tc.want) {
				t.Errorf("RunConsent = %v, want %v", err, tc.want)
			}
			if got := <-status; got == http.StatusOK || got == 0 {
				t.Errorf("browser got %d, want an error page", got)
			}
			if err != nil {
				assertNoSecrets(t, f, err.Error())
			}
			if _, err := s.LoadToken(ctx); !errors.Is(err, erp.ErrNoToken) {
				t.Errorf("LoadToken = %v, want nothing stored", err)
			}
		})
	}
}

func TestRunConsentRejectsNonLoopbackRedirect(t *testing.T) {
	for _, r := range []string{"https://shop.example.com/cb", "http://localhost/cb", "not a url", "https://127.0.0.1:8765/cb"} {
		err := erp.RunConsent(t.Context(), erp.ConsentOptions{RedirectURL: r}, nil)
		if err == nil {
			t.Errorf("RunConsent(%q) = nil, want an error", r)
		}
	}
}

var hiddenInput = regexp.MustCompile(`<input type="hidden" name="([a-z_]+)" value="([^"]*)">`)

// TestRunConsentAgainstSandbox plays the person at the sandbox's consent page:
// it opens the printed URL, submits the page's form, follows the redirect to
// RunConsent's listener, and then the stored chain refreshes at the sandbox.
func TestRunConsentAgainstSandbox(t *testing.T) {
	redirect := "http://" + freeLoopbackAddr(t) + "/callback"
	clock := newFakeClock()
	sb := sandbox.New(sandbox.Options{RedirectURL: redirect, Clock: clock, TokenLifetime: 60 * time.Second, RefreshWindow: 30 * time.Second})
	srv := httptest.NewServer(sb)
	defer srv.Close()
	s := openStore(t, t.TempDir(), clock)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()

	browserErr := make(chan error, 1)
	browser := func(consentURL string) {
		go func() {
			browserErr <- func() error {
				resp, err := http.Get(consentURL)
				if err != nil {
					return err
				}
				page, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					return errors.New("consent page: " + resp.Status)
				}
				form := url.Values{"approve": {"1"}}
				for _, m := range hiddenInput.FindAllStringSubmatch(string(page), -1) {
					form.Set(m[1], html.UnescapeString(m[2]))
				}
				resp, err = http.PostForm(srv.URL+"/api/oauth2/auth", form)
				if err != nil {
					return err
				}
				done, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK || !strings.Contains(string(done), "connected") {
					return errors.New("after approving: " + resp.Status + " " + string(done))
				}
				return nil
			}()
		}()
	}
	err := erp.RunConsent(ctx, erp.ConsentOptions{
		BaseURL: srv.URL, ClientID: sb.ClientID(), ClientSecret: sb.ClientSecret(),
		RedirectURL: redirect, Store: s, Now: clock.Now,
	}, browser)
	if err != nil {
		t.Fatalf("RunConsent: %v", err)
	}
	if err := <-browserErr; err != nil {
		t.Fatalf("browser: %v", err)
	}
	if st := sb.Stats(); st.CodeExchanges != 1 {
		t.Errorf("sandbox code exchanges = %d, want 1", st.CodeExchanges)
	}
	ts := erp.NewTokenSource(ctx, erp.TokenSourceOptions{
		BaseURL: srv.URL, ClientID: sb.ClientID(), ClientSecret: sb.ClientSecret(), Store: s, Now: clock.Now,
	})
	tok, err := ts.Token()
	if err != nil {
		t.Fatalf("Token after consent: %v", err)
	}
	stored, err := s.LoadToken(ctx)
	if err != nil || tok.AccessToken != stored.AccessToken {
		t.Errorf("Token is not the consented access token (%v)", err)
	}
	// Then the chain lives on at the sandbox through many lifetimes with
	// concurrent callers.
	for range 300 {
		var wg sync.WaitGroup
		errs := make(chan error, 10)
		for range 10 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := ts.Token(); err != nil {
					errs <- err
				}
			}()
		}
		wg.Wait()
		close(errs)
		if err := <-errs; err != nil {
			t.Fatalf("Token at %v: %v", clock.Now(), err)
		}
		clock.Advance(time.Second)
	}
	st := sb.Stats()
	if st.OldTokenReuses != 0 || st.TooEarlyRefreshes != 0 || st.TokenRefreshes < 300/60 || st.TokenRefreshes > 300/30+1 {
		t.Errorf("sandbox stats: refreshes %d, reuses %d, too early %d; want about one refresh per 33 s, no reuse, none too early",
			st.TokenRefreshes, st.OldTokenReuses, st.TooEarlyRefreshes)
	}
	if st := ts.Status(ctx); !st.OK {
		t.Errorf("Status = %+v, want OK", st)
	}
}
