package erp_test

import (
	"context"
	"errors"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/exactql/exactql/erp"
	"github.com/exactql/exactql/erp/sandbox"
)

// noFollow returns redirects instead of following them, like a browser
// whose redirect target (the https page) is not reachable from here.
var noFollow = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// consentRedirect opens the consent URL at the fake Exact and returns where
// Exact redirects the browser (the URL the person copies).
func consentRedirect(t *testing.T, consentURL string) string {
	t.Helper()
	resp, err := noFollow.Get(consentURL)
	if err != nil {
		t.Error(err)
		return ""
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Errorf("consent: %d", resp.StatusCode)
	}
	return resp.Header.Get("Location")
}

// TestRunConsentPaste: with an https redirect URL nothing listens; the
// person pastes the redirected URL (or just the code) and the tokens are
// stored. Unusable lines get a hint and another try; the code is never
// echoed.
func TestRunConsentPaste(t *testing.T) {
	const redirect = "https://shop.example/exact/callback"
	tests := []struct {
		name string
		// lines builds what is pasted from the redirected URL.
		lines  func(redirected string) []string
		hints  int
		stored bool
		want   error
	}{
		{name: "full URL", lines: func(r string) []string { return []string{r} }, stored: true},
		{name: "URL with spaces around, after an empty line", lines: func(r string) []string { return []string{"", "  " + r + "\t"} }, stored: true},
		{name: "query string only", lines: func(r string) []string { return []string{r[strings.Index(r, "?"):]} }, stored: true},
		{name: "bare code, still URL-encoded", lines: func(r string) []string {
			u, _ := url.Parse(r)
			return []string{url.QueryEscape(u.Query().Get("code"))}
		}, stored: true},
		{name: "wrong state first, then the URL", lines: func(r string) []string {
			return []string{strings.Replace(r, "state=st4te", "state=other", 1), r}
		}, hints: 1, stored: true},
		{name: "another host, then garbage, then the URL", lines: func(r string) []string {
			return []string{strings.Replace(r, "shop.example", "evil.example", 1), "not a code at all", r}
		}, hints: 2, stored: true},
		{name: "URL without state", lines: func(r string) []string {
			u, _ := url.Parse(r)
			return []string{redirect + "?code=" + url.QueryEscape(u.Query().Get("code"))}
		}, hints: 1, want: erp.ErrPastedInput},
		{name: "denied", lines: func(string) []string { return []string{redirect + "?error=access_denied&state=st4te"} }, want: erp.ErrConsentDenied},
		{name: "unknown code", lines: func(string) []string { return []string{"nope%21x"} }, want: erp.ErrConsentRequired},
		{name: "nothing pasted", lines: func(string) []string { return nil }, want: erp.ErrPastedInput},
		{name: "five unusable lines", lines: func(string) []string {
			return []string{"a b", "a b", "a b", "a b", "a b", "never read"}
		}, hints: 4, want: erp.ErrPastedInput},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clock := newFakeClock()
			f := newFakeExact(t, clock, 600*time.Second, 30*time.Second, redirect)
			s := openStore(t, t.TempDir(), clock)
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			defer cancel()
			pr, pw := io.Pipe()
			defer pr.Close()
			var hints []string
			var pasted []string
			err := erp.RunConsentPaste(ctx, erp.ConsentOptions{
				BaseURL: f.srv.URL, ClientID: testClientID, ClientSecret: testSecret,
				RedirectURL: redirect, Store: s, State: "st4te", Now: clock.Now,
			}, pr, func(u string) {
				pasted = tc.lines(consentRedirect(t, u))
				go func() {
					for _, l := range pasted {
						if _, err := io.WriteString(pw, l+"\n"); err != nil {
							return
						}
					}
					pw.Close()
				}()
			}, func(h string) { hints = append(hints, h) })
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Fatalf("RunConsentPaste = %v, want %v", err, tc.want)
			}
			if len(hints) != tc.hints {
				t.Errorf("hints = %q, want %d", hints, tc.hints)
			}
			for _, h := range hints {
				for _, l := range pasted {
					if strings.Contains(l, "code") && strings.Contains(h, l) {
						t.Errorf("hint %q echoes the pasted line", h)
					}
				}
			}
			st, lerr := s.LoadToken(ctx)
			if tc.stored {
				f.mu.Lock()
				live := f.refresh
				f.mu.Unlock()
				if lerr != nil || st.RefreshToken != live || st.AccessToken == "" {
					t.Errorf("stored token: %v", lerr)
				}
			} else if lerr == nil {
				t.Errorf("a token was stored although consent failed")
			}
			if err != nil {
				assertNoSecrets(t, f, err.Error())
			}
		})
	}
}

// TestRunConsentPasteCancel: a cancelled context ends the wait for input.
func TestRunConsentPasteCancel(t *testing.T) {
	clock := newFakeClock()
	s := openStore(t, t.TempDir(), clock)
	pr, pw := io.Pipe()
	defer pw.Close()
	ctx, cancel := context.WithCancel(t.Context())
	err := erp.RunConsentPaste(ctx, erp.ConsentOptions{BaseURL: "http://127.0.0.1:1", ClientID: "c",
		RedirectURL: "https://shop.example/cb", Store: s}, pr, func(string) { cancel() }, nil)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("RunConsentPaste = %v, want context.Canceled", err)
	}
}

func TestRunConsentPasteBadOptions(t *testing.T) {
	s := openStore(t, t.TempDir(), newFakeClock())
	for name, o := range map[string]erp.ConsentOptions{
		"relative URL": {RedirectURL: "/cb", Store: s},
		"ftp URL":      {RedirectURL: "ftp://shop.example/cb", Store: s},
		"no store":     {RedirectURL: "https://shop.example/cb"},
	} {
		if err := erp.RunConsentPaste(t.Context(), o, strings.NewReader("x\n"), nil, nil); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestIsLoopbackRedirect(t *testing.T) {
	for u, want := range map[string]bool{
		"http://localhost:8765/callback": true,
		"http://127.0.0.1:8765/cb":       true,
		"http://[::1]:8765/cb":           true,
		"http://localhost/cb":            false, // no port to listen on
		"https://localhost:8765/cb":      false, // no certificate here
		"https://shop.example/cb":        false,
		"http://shop.example:8765/cb":    false,
		"::":                             false,
	} {
		if got := erp.IsLoopbackRedirect(u); got != want {
			t.Errorf("IsLoopbackRedirect(%q) = %v, want %v", u, got, want)
		}
	}
}

// TestRunConsentPasteAgainstSandbox plays the person with an https redirect
// URL at the sandbox: approve on the consent page, copy the address the
// browser is sent to, paste it; the stored chain then refreshes there.
func TestRunConsentPasteAgainstSandbox(t *testing.T) {
	clock := newFakeClock()
	sb := sandbox.New(sandbox.Options{Clock: clock, TokenLifetime: 60 * time.Second, RefreshWindow: 30 * time.Second})
	srv := httptest.NewServer(sb)
	defer srv.Close()
	s := openStore(t, t.TempDir(), clock)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	pr, pw := io.Pipe()
	defer pr.Close()
	var wg sync.WaitGroup
	defer wg.Wait()
	err := erp.RunConsentPaste(ctx, erp.ConsentOptions{
		BaseURL: srv.URL, ClientID: sb.ClientID(), ClientSecret: sb.ClientSecret(),
		RedirectURL: sandbox.DefaultHTTPSRedirectURL, Store: s, Now: clock.Now,
	}, pr, func(consentURL string) {
		loc := approveAtSandbox(t, srv.URL, consentURL)
		wg.Add(1)
		go func() {
			defer wg.Done()
			io.WriteString(pw, loc+"\n")
		}()
	}, nil)
	if err != nil {
		t.Fatalf("RunConsentPaste: %v", err)
	}
	if st := sb.Stats(); st.CodeExchanges != 1 {
		t.Errorf("sandbox code exchanges = %d, want 1", st.CodeExchanges)
	}
	clock.Advance(45 * time.Second) // inside the refresh window
	ts := erp.NewTokenSource(ctx, erp.TokenSourceOptions{
		BaseURL: srv.URL, ClientID: sb.ClientID(), ClientSecret: sb.ClientSecret(), Store: s, Now: clock.Now,
	})
	if _, err := ts.Token(); err != nil {
		t.Fatalf("Token after consent: %v", err)
	}
	if st := sb.Stats(); st.TokenRefreshes != 1 {
		t.Errorf("sandbox refreshes = %d, want 1", st.TokenRefreshes)
	}
}

// approveAtSandbox opens the consent page, submits its form and returns
// the redirect's Location without following it.
func approveAtSandbox(t *testing.T, base, consentURL string) string {
	t.Helper()
	resp, err := http.Get(consentURL)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	form := url.Values{"approve": {"1"}}
	for _, m := range hiddenInput.FindAllStringSubmatch(string(page), -1) {
		form.Set(m[1], html.UnescapeString(m[2]))
	}
	resp, err = noFollow.PostForm(base+"/api/oauth2/auth", form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("approve: %d", resp.StatusCode)
	}
	loc := resp.Header.Get("Location")
	if !strings.HasPrefix(loc, sandbox.DefaultHTTPSRedirectURL+"?") {
		t.Fatalf("redirected to %q", loc)
	}
	return loc
}
