package live

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/exactql/exactql/erp"
)

// itemUpstream answers item lookups from a fixed set and counts calls.
type itemUpstream struct {
	Upstream
	items        []erp.Item
	byID, byCode atomic.Int32
	down         atomic.Bool // every call fails, as in maintenance
}

var errDown = &erp.Error{StatusCode: 503, Message: "maintenance"}

func (u *itemUpstream) ItemsByIDs(_ context.Context, ids []string) ([]erp.Item, error) {
	u.byID.Add(1)
	if u.down.Load() {
		return nil, errDown
	}
	var out []erp.Item
	for _, it := range u.items {
		for _, id := range ids {
			if strings.EqualFold(it.ID, id) {
				out = append(out, it)
			}
		}
	}
	return out, nil
}

func (u *itemUpstream) ItemsByCodes(_ context.Context, codes []string) ([]erp.Item, error) {
	u.byCode.Add(1)
	if u.down.Load() {
		return nil, errDown
	}
	var out []erp.Item
	for _, it := range u.items {
		for _, c := range codes {
			if strings.EqualFold(it.Code, c) {
				out = append(out, it)
			}
		}
	}
	return out, nil
}

// TestItemKnownByIDAfterLoadByCodeAndViceVersa: an item read by code is
// then served by ID from the cache without Exact (which is down), and an
// item read by ID is served by code.
func TestItemKnownByIDAfterLoadByCodeAndViceVersa(t *testing.T) {
	a := erp.Item{ID: "aaaaaaaa-0000-4000-8000-000000000001", Code: "A100", Description: "A"}
	b := erp.Item{ID: "bbbbbbbb-0000-4000-8000-000000000002", Code: "B200", Description: "B"}
	up := &itemUpstream{items: []erp.Item{a, b}}
	r := newTestReader(t, up)
	ctx := context.Background()

	if got, err := r.ItemsByCode(ctx, []string{"a100"}); err != nil || got[0] == nil || got[0].ID != a.ID {
		t.Fatalf("ItemsByCode(a100) = %v, %v", got, err)
	}
	if got, err := r.Items(ctx, []string{b.ID}); err != nil || got[0] == nil || got[0].Code != b.Code {
		t.Fatalf("Items(B) = %v, %v", got, err)
	}
	up.down.Store(true)
	idCalls, codeCalls := up.byID.Load(), up.byCode.Load()

	got, err := r.Items(ctx, []string{a.ID})
	if err != nil || got[0] == nil || got[0].Code != a.Code {
		t.Errorf("Items(A by ID) after a load by code = %v, %v; want A from the cache", got, err)
	}
	got, err = r.ItemsByCode(ctx, []string{"B200"})
	if err != nil || got[0] == nil || got[0].ID != b.ID {
		t.Errorf("ItemsByCode(B200) after a load by ID = %v, %v; want B from the cache", got, err)
	}
	if up.byID.Load() != idCalls || up.byCode.Load() != codeCalls {
		t.Errorf("Exact was called (by ID %d→%d, by code %d→%d); want the cache only",
			idCalls, up.byID.Load(), codeCalls, up.byCode.Load())
	}
}
