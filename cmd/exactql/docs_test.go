package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestDocsLiveInTheRepo (issue 13 point 11): the README and docs/ link only
// to files the repository has (no ../shared/... a clone lacks), and docs/
// holds the architecture page, the scalars page and a client guide covering
// what the issue lists.
func TestDocsLiveInTheRepo(t *testing.T) {
	const root = "../.."
	files := []string{filepath.Join(root, "README.md")}
	docs, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	files = append(files, docs...)
	link := regexp.MustCompile(`\]\(([^)\s]+)\)`)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(b), "../shared") {
			t.Errorf("%s points at ../shared, which a clone of the repository does not have", f)
		}
		for _, m := range link.FindAllStringSubmatch(string(b), -1) {
			target := m[1]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "#") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			target, _, _ = strings.Cut(target, "#")
			p := filepath.Join(filepath.Dir(f), target)
			if _, err := os.Stat(p); err != nil {
				t.Errorf("%s links to %s, which is not in the repository", f, m[1])
			}
		}
	}
	want := map[string][]string{
		"architecture.md": {"erp/sandbox", "server/images", "mirror", "PENDING"},
		"scalars.md":      {"Decimal", "Date", "DateTime"},
		"client-guide.md": {"typePolicies", "Money", "relayStylePagination", "endCursor", "RATE_LIMITED",
			"retryAfterSeconds", "PENDING", "previewOrder", "EXACTQL_CORS_ORIGINS", "exactql token", "thumbnailUrl"},
		"tokens.md": {"exactql token", "JWKS", "```go", "```js"},
	}
	for name, terms := range want {
		b, err := os.ReadFile(filepath.Join(root, "docs", name))
		if err != nil {
			t.Errorf("docs/%s: %v", name, err)
			continue
		}
		for _, term := range terms {
			if !strings.Contains(string(b), term) {
				t.Errorf("docs/%s does not mention %s", name, term)
			}
		}
	}
}
