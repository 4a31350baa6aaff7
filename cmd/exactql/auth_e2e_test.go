package main

import (
	"bytes"
	"context"
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
	"github.com/exactql/exactql/store"
)

// lineWriter calls onLine for every complete line written to it and keeps
// everything for failure messages.
type lineWriter struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	all    strings.Builder
	onLine func(string)
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	w.all.Write(p)
	w.buf.Write(p)
	var lines []string
	for {
		i := bytes.IndexByte(w.buf.Bytes(), '\n')
		if i < 0 {
			break
		}
		lines = append(lines, string(w.buf.Next(i+1)))
	}
	w.mu.Unlock()
	for _, l := range lines {
		w.onLine(strings.TrimSpace(l))
	}
	return len(p), nil
}

func (w *lineWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.all.String()
}

var formInput = regexp.MustCompile(`<input type="hidden" name="([a-z_]+)" value="([^"]*)">`)

// approve plays the person at the sandbox's consent page: it opens the
// consent URL, submits the form and returns where the browser is sent.
func approve(t *testing.T, base, consentURL string) (string, error) {
	resp, err := http.Get(consentURL)
	if err != nil {
		return "", err
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	form := url.Values{"approve": {"1"}}
	for _, m := range formInput.FindAllStringSubmatch(string(page), -1) {
		form.Set(m[1], html.UnescapeString(m[2]))
	}
	nf := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err = nf.PostForm(base+"/api/oauth2/auth", form)
	if err != nil {
		return "", err
	}
	resp.Body.Close()
	return resp.Header.Get("Location"), nil
}

// TestAuthBothModesAgainstSandbox runs `exactql auth` against the sandbox
// as a real Exact app: with a loopback http redirect URL (the command
// listens and the browser's redirect reaches it), with the https redirect
// URL (the redirected address is pasted on stdin), and with `-paste` for a
// loopback URL whose listener the browser cannot reach. Each time the
// stored chain then refreshes at the sandbox.
func TestAuthBothModesAgainstSandbox(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	loopback := "http://" + ln.Addr().String() + "/callback"
	ln.Close()
	for _, tc := range []struct {
		name, redirect string
		args           []string
		paste          bool
	}{
		{"loopback listener", loopback, []string{"auth"}, false},
		{"https redirect, pasted", sandbox.DefaultHTTPSRedirectURL, []string{"auth"}, true},
		{"loopback URL with -paste", loopback, []string{"auth", "-paste"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sb := sandbox.New(sandbox.Options{RedirectURL: loopback})
			srv := httptest.NewServer(sb)
			defer srv.Close()
			dir := t.TempDir()
			env := map[string]string{
				"EXACT_BASE_URL": srv.URL, "EXACT_CLIENT_ID": sb.ClientID(), "EXACT_CLIENT_SECRET": sb.ClientSecret(),
				// No EXACTQL_JWT_SECRET: auth verifies no caller tokens.
				"EXACT_REDIRECT_URL": tc.redirect, "EXACTQL_DATA_DIR": dir,
			}
			stdinR, stdinW := io.Pipe()
			defer stdinR.Close()
			browserErr := make(chan error, 1)
			var once sync.Once
			out := &lineWriter{onLine: func(l string) {
				if !strings.HasPrefix(l, srv.URL+"/api/oauth2/auth?") {
					return
				}
				once.Do(func() {
					go func() {
						loc, err := approve(t, srv.URL, l)
						if err == nil && !tc.paste {
							// The browser follows the redirect to the listener.
							var resp *http.Response
							if resp, err = http.Get(loc); err == nil {
								resp.Body.Close()
							}
						}
						if err == nil && tc.paste {
							_, err = io.WriteString(stdinW, loc+"\n")
						}
						browserErr <- err
					}()
				})
			}}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := runIO(ctx, tc.args, func(k string) string { return env[k] }, stdinR, out, io.Discard); err != nil {
				t.Fatalf("exactql auth: %v\n%s", err, out)
			}
			if err := <-browserErr; err != nil {
				t.Fatalf("browser: %v", err)
			}
			if !strings.Contains(out.String(), "Exact tokens stored") {
				t.Errorf("output:\n%s", out)
			}
			if st := sb.Stats(); st.CodeExchanges != 1 {
				t.Errorf("code exchanges = %d, want 1", st.CodeExchanges)
			}
			st, err := store.Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			ts := erp.NewTokenSource(ctx, erp.TokenSourceOptions{BaseURL: srv.URL, ClientID: sb.ClientID(),
				ClientSecret: sb.ClientSecret(), Store: st})
			if s := ts.Status(ctx); !s.OK {
				t.Errorf("token status after auth: %+v", s)
			}
			// The consented token reads the sandbox's division.
			c, err := erp.New(erp.WithBaseURL(srv.URL), erp.WithTokenSource(ts))
			if err != nil {
				t.Fatal(err)
			}
			if div, err := c.Division(ctx); err != nil || div != sb.Division() {
				t.Errorf("Division with the consented token = %d, %v; want %d", div, err, sb.Division())
			}
		})
	}
}

// TestAuthPasteRefusesForeignRedirect: a pasted URL of another host never
// reaches Exact's token endpoint, and without a usable line auth fails.
func TestAuthPasteRefusesForeignRedirect(t *testing.T) {
	sb := sandbox.New(sandbox.Options{})
	srv := httptest.NewServer(sb)
	defer srv.Close()
	env := map[string]string{
		"EXACT_BASE_URL": srv.URL, "EXACT_CLIENT_ID": sb.ClientID(), "EXACT_CLIENT_SECRET": sb.ClientSecret(),
		"EXACT_REDIRECT_URL": sandbox.DefaultHTTPSRedirectURL, "EXACTQL_JWT_SECRET": strings.Repeat("k", 32), "EXACTQL_DATA_DIR": t.TempDir(),
	}
	var out bytes.Buffer
	err := runIO(context.Background(), []string{"auth"}, func(k string) string { return env[k] },
		strings.NewReader("https://evil.example/exact/callback?code=abc%21d&state=x\n"), &out, io.Discard)
	if err == nil {
		t.Fatalf("auth accepted a foreign redirect:\n%s", out.String())
	}
	if st := sb.Stats(); st.CodeExchanges != 0 {
		t.Errorf("code exchanges = %d, want 0", st.CodeExchanges)
	}
	if strings.Contains(out.String(), "abc!d") || strings.Contains(out.String(), "abc%21d") {
		t.Errorf("the pasted code was echoed:\n%s", out.String())
	}
}
