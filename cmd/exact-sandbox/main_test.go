package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestRunJSON(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	var stderr strings.Builder
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-addr", "127.0.0.1:0", "-json", "-items", "100", "-customers", "20", "-seed", "3"},
			func(string) string { return "" }, pw, &stderr)
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatalf("first line: %v (stderr %q)", err, stderr.String())
	}
	go io.Copy(io.Discard, pr)
	var info map[string]any
	if err := json.Unmarshal([]byte(line), &info); err != nil {
		t.Fatalf("first line %q: %v", line, err)
	}
	for _, k := range []string{"base_url", "division", "client_id", "client_secret", "redirect_url", "refresh_token"} {
		if info[k] == nil || info[k] == "" {
			t.Errorf("key %s missing in %v", k, info)
		}
	}
	if len(info) != 6 {
		t.Errorf("%d keys, want 6: %v", len(info), info)
	}
	base, _ := info["base_url"].(string)
	if strings.HasSuffix(base, ":0") || !strings.HasPrefix(base, "http://127.0.0.1:") {
		t.Errorf("base_url %q", base)
	}

	// The refresh token works, and the access token reads current/Me.
	resp, err := http.PostForm(base+"/api/oauth2/token", url.Values{
		"grant_type": {"refresh_token"}, "refresh_token": {info["refresh_token"].(string)},
		"client_id": {info["client_id"].(string)}, "client_secret": {info["client_secret"].(string)},
	})
	if err != nil {
		t.Fatal(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	if resp.StatusCode != 200 || tok.AccessToken == "" {
		t.Fatalf("token: %d", resp.StatusCode)
	}
	req, _ := http.NewRequest("GET", base+"/api/v1/current/Me?$select=CurrentDivision", nil)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var me struct {
		D struct {
			Results []struct{ CurrentDivision float64 } `json:"results"`
		} `json:"d"`
	}
	json.NewDecoder(resp.Body).Decode(&me)
	resp.Body.Close()
	if len(me.D.Results) != 1 || me.D.Results[0].CurrentDivision != info["division"].(float64) {
		t.Errorf("Me: %+v", me)
	}

	cancel()
	if err := <-done; err != nil {
		t.Errorf("run after cancel: %v", err)
	}
}

func TestRunHuman(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-items", "100", "-customers", "20"},
			func(k string) string {
				if k == "EXACT_SANDBOX_ADDR" {
					return "127.0.0.1:0"
				}
				return ""
			}, pw, io.Discard)
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "Exact Online sandbox listening on http://127.0.0.1:") {
		t.Errorf("first line %q: %v", line, err)
	}
	go io.Copy(io.Discard, pr)
	cancel()
	if err := <-done; err != nil {
		t.Errorf("run: %v", err)
	}
}

func TestRunErrors(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	for name, args := range map[string][]string{
		"bad flag":   {"-nope"},
		"extra arg":  {"-addr", "127.0.0.1:0", "x"},
		"port taken": {"-addr", ln.Addr().String(), "-items", "100", "-customers", "20"},
	} {
		err := run(context.Background(), args, func(string) string { return "" }, io.Discard, io.Discard)
		if err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// TestRunPessimistic: -pessimistic starts the sandbox with every
// pessimistic switch on, as GET /sandbox/faults shows.
func TestRunPessimistic(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-addr", "127.0.0.1:0", "-json", "-items", "100", "-customers", "20", "-pessimistic", "-block-errors"},
			func(string) string { return "" }, pw, io.Discard)
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatalf("first line: %v", err)
	}
	go io.Copy(io.Discard, pr)
	var info struct {
		BaseURL string `json:"base_url"`
	}
	if err := json.Unmarshal([]byte(line), &info); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(info.BaseURL + "/sandbox/faults")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"substringof_501", "refuse_account_eq_null", "reprice_lines"} {
		if st[k] != true {
			t.Errorf("%s = %v, want true", k, st[k])
		}
	}
	if st["max_url_length"] != 2048.0 || st["remarks_limit"] != 100.0 {
		t.Errorf("lengths %v, %v", st["max_url_length"], st["remarks_limit"])
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("run: %v", err)
	}
}
