package sandbox

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/shopspring/decimal"
)

// serveSyncControl implements the control calls that change data (each bumps
// Timestamps and fires the matching webhooks):
//
//	POST /sandbox/items/price        {"item_id","price"}                      → 204
//	POST /sandbox/stock              {"item_id","warehouse_id","on_hand"}     → 204
//	POST /sandbox/items              {"code","description","price","barcode"} → {"id"}
//	POST /sandbox/price-agreements/delete {"id"}                             → 204
//	POST /sandbox/orders             {"account_id","lines":[{"item_id","quantity"}]} → {"order_id"}
//	GET  /sandbox/webhooks           WebhookStats
//
// It reports whether route was one of them. Unknown JSON fields are refused
// (400); an unknown record is 404; an unacceptable change is 400 and
// changes nothing.
func (s *Sandbox) serveSyncControl(w http.ResponseWriter, r *http.Request, route string) bool {
	decode := func(v any) bool {
		dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
		dec.DisallowUnknownFields()
		if err := dec.Decode(v); err != nil {
			controlError(w, http.StatusBadRequest, "invalid request: "+err.Error())
			return false
		}
		return true
	}
	answer := func(err error, ok any) {
		switch {
		case errors.Is(err, ErrNoSuchRecord):
			controlError(w, http.StatusNotFound, err.Error())
		case err != nil:
			controlError(w, http.StatusBadRequest, err.Error())
		case ok == nil:
			w.WriteHeader(http.StatusNoContent)
		default:
			writeControl(w, http.StatusOK, ok)
		}
	}
	switch route {
	case "POST /sandbox/items/price":
		var req struct {
			ItemID string          `json:"item_id"`
			Price  decimal.Decimal `json:"price"`
		}
		if decode(&req) {
			answer(s.SetStandardSalesPrice(req.ItemID, req.Price), nil)
		}
	case "POST /sandbox/stock":
		var req struct {
			ItemID      string          `json:"item_id"`
			WarehouseID string          `json:"warehouse_id"`
			OnHand      decimal.Decimal `json:"on_hand"`
		}
		if decode(&req) {
			answer(s.SetStock(req.ItemID, req.WarehouseID, req.OnHand), nil)
		}
	case "POST /sandbox/items":
		var req NewItem
		if decode(&req) {
			id, err := s.AddItem(req)
			answer(err, map[string]string{"id": id})
		}
	case "POST /sandbox/price-agreements/delete":
		var req struct {
			ID string `json:"id"`
		}
		if decode(&req) {
			answer(s.DeletePriceAgreement(req.ID), nil)
		}
	case "POST /sandbox/orders":
		var req struct {
			AccountID string      `json:"account_id"`
			Lines     []StaffLine `json:"lines"`
		}
		if decode(&req) {
			id, err := s.StaffOrder(req.AccountID, req.Lines)
			answer(err, map[string]string{"order_id": id})
		}
	case "GET /sandbox/webhooks":
		writeControl(w, http.StatusOK, s.WebhookStats())
	default:
		return false
	}
	return true
}
