package server

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/exactql/exactql/apierr"
	"github.com/exactql/exactql/graph"
	"github.com/exactql/exactql/graph/model"
)

func init() {
	// Over-limit operations are refused before execution, like validation
	// failures: HTTP 422 (application/json) or 400 (graphql-response+json).
	errcode.RegisterErrorType(apierr.CodeQueryTooComplex, errcode.KindProtocol)
	errcode.RegisterErrorType("COMPLEXITY_LIMIT_EXCEEDED", errcode.KindProtocol)
}

// tooComplex is the error of a document over a size, depth or complexity
// limit (documentGuard in guard.go counts selections and depth).
func tooComplex(msg string) *gqlerror.Error {
	err := gqlerror.Errorf("%s", msg)
	errcode.Set(err, apierr.CodeQueryTooComplex)
	return err
}

// listCost is the multiplier a list field's `first` contributes to the
// complexity score: the default when absent, clamped to [1, 1000] so huge
// values cannot overflow (the resolvers refuse first > 100 anyway).
func listCost(first *int, def int) int {
	n := def
	if first != nil {
		n = *first
	}
	return min(max(n, 1), 1000)
}

// complexityRoot scores list fields by how many elements they may return.
// Other fields cost 1 plus their children (gqlgen's default).
func complexityRoot() graph.ComplexityRoot {
	var c graph.ComplexityRoot
	c.Query.Products = func(child int, first *int, _ *string, _ *string, _ *string, _ *bool, _ *string, _ *model.ProductSort) int {
		return 1 + listCost(first, 24)*child
	}
	c.Query.ProductsByCode = func(child int, codes []string) int {
		return 1 + min(max(len(codes), 1), 1000)*child
	}
	c.Customer.Orders = func(child int, first *int, _ *string) int {
		return 1 + listCost(first, 20)*child
	}
	// Relations that may fetch from Exact weigh a little more.
	c.Product.Price = func(child int, _ *model.Decimal) int { return 2 + child }
	c.Product.Stock = func(child int, _ *string) int { return 2 + child }
	c.SalesOrder.Lines = func(child int) int { return 2 + 10*child }
	return c
}

// limitBody refuses request bodies larger than max with 413 and a GraphQL
// error, before gqlgen reads them, and query strings of GET requests larger
// than max with 414.
func limitBody(maxBytes int64, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if int64(len(r.URL.RawQuery)) > maxBytes {
			writeError(w, r, http.StatusRequestURITooLong, apierr.CodeBadUserInput,
				fmt.Sprintf("query string larger than %d bytes", maxBytes))
			return
		}
		if r.Body == nil || r.Body == http.NoBody {
			next.ServeHTTP(w, r)
			return
		}
		tooLarge := func() {
			writeError(w, r, http.StatusRequestEntityTooLarge, apierr.CodeBadUserInput,
				fmt.Sprintf("request body larger than %d bytes", maxBytes))
		}
		if r.ContentLength > maxBytes {
			tooLarge()
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBytes))
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				tooLarge()
				return
			}
			writeError(w, r, http.StatusBadRequest, apierr.CodeBadUserInput, "could not read the request body")
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		next.ServeHTTP(w, r)
	})
}
