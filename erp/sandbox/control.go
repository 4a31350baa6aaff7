package sandbox

import (
	"encoding/json"
	"net/http"
	"time"
)

// faultRequest is the body of POST /sandbox/faults. Absent fields leave the
// fault unchanged; "reset" is applied first.
type faultRequest struct {
	Reset               bool    `json:"reset"`
	LatencyMS           *int64  `json:"latency_ms"`
	FailNext            *int    `json:"fail_next"`
	FailStatus          int     `json:"fail_status"`
	Maintenance         *bool   `json:"maintenance"`
	Force429            *int    `json:"force_429"`
	DropAfterPost       bool    `json:"drop_after_post"`
	RejectNextOrder     *string `json:"reject_next_order"`
	RevokeRefreshTokens bool    `json:"revoke_refresh_tokens"`
	// The pessimistic switches; "pessimistic" sets all five first.
	Pessimistic         *bool `json:"pessimistic"`
	SubstringOf501      *bool `json:"substringof_501"`
	RefuseAccountEqNull *bool `json:"refuse_account_eq_null"`
	MaxURLLength        *int  `json:"max_url_length"`
	RepriceLines        *bool `json:"reprice_lines"`
	RemarksLimit        *int  `json:"remarks_limit"`
}

type demoBuyerJSON struct {
	Name        string `json:"name"`
	Rule        string `json:"rule"`
	AccountID   string `json:"account_id"`
	AccountCode string `json:"account_code"`
	ContactID   string `json:"contact_id"`
}

func writeControl(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":"encoding failed"}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

func controlError(w http.ResponseWriter, status int, msg string) {
	writeControl(w, status, map[string]string{"error": msg})
}

// serveControl implements the control API under /sandbox/ (see the package
// documentation). It needs no authentication and is not logged.
func (s *Sandbox) serveControl(w http.ResponseWriter, r *http.Request) {
	route := r.Method + " " + r.URL.Path
	switch route {
	case "GET /sandbox/calls":
		calls := s.Calls()
		byKind := map[string]int{}
		for _, c := range calls {
			byKind[c.Kind]++
		}
		writeControl(w, http.StatusOK, map[string]any{"calls": calls, "count": len(calls), "by_kind": byKind})
	case "POST /sandbox/calls/reset":
		s.ResetCalls()
		w.WriteHeader(http.StatusNoContent)
	case "GET /sandbox/stats":
		writeControl(w, http.StatusOK, s.Stats())
	case "GET /sandbox/faults":
		writeControl(w, http.StatusOK, s.faults.State())
	case "POST /sandbox/faults":
		var req faultRequest
		dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil {
			controlError(w, http.StatusBadRequest, "invalid fault request: "+err.Error())
			return
		}
		f := s.faults
		if req.Reset {
			f.Reset()
		}
		if req.LatencyMS != nil {
			f.SetLatency(time.Duration(*req.LatencyMS) * time.Millisecond)
		}
		if req.FailNext != nil {
			f.FailNext(*req.FailNext, req.FailStatus)
		}
		if req.Maintenance != nil {
			f.SetMaintenance(*req.Maintenance)
		}
		if req.Force429 != nil {
			f.Force429(*req.Force429)
		}
		if req.DropAfterPost {
			f.DropConnectionAfterNextPost()
		}
		if req.RejectNextOrder != nil {
			f.RejectNextOrder(*req.RejectNextOrder)
		}
		if req.RevokeRefreshTokens {
			f.RevokeRefreshTokens()
		}
		if req.Pessimistic != nil {
			f.SetPessimistic(*req.Pessimistic)
		}
		if req.SubstringOf501 != nil {
			f.SetSubstringOf501(*req.SubstringOf501)
		}
		if req.RefuseAccountEqNull != nil {
			f.SetRefuseAccountEqNull(*req.RefuseAccountEqNull)
		}
		if req.MaxURLLength != nil {
			f.SetMaxURLLength(*req.MaxURLLength)
		}
		if req.RepriceLines != nil {
			f.SetRepriceLines(*req.RepriceLines)
		}
		if req.RemarksLimit != nil {
			f.SetRemarksLimit(*req.RemarksLimit)
		}
		writeControl(w, http.StatusOK, f.State())
	case "POST /sandbox/refresh-token":
		writeControl(w, http.StatusOK, map[string]string{"refresh_token": s.IssueRefreshToken()})
	case "GET /sandbox/demo-buyers":
		out := []demoBuyerJSON{}
		for _, b := range s.DemoBuyers() {
			out = append(out, demoBuyerJSON{b.Name, b.Rule, b.AccountID, b.AccountCode, b.ContactID})
		}
		writeControl(w, http.StatusOK, out)
	case "GET /sandbox/clock", "POST /sandbox/clock":
		fc, ok := s.clock.(*FakeClock)
		if r.Method == http.MethodPost {
			if !ok {
				controlError(w, http.StatusConflict, "the sandbox runs on real time; only a fake clock can be moved")
				return
			}
			var req struct {
				AdvanceMS int64     `json:"advance_ms"`
				Set       time.Time `json:"set"`
			}
			if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4<<10)).Decode(&req); err != nil {
				controlError(w, http.StatusBadRequest, "invalid clock request: "+err.Error())
				return
			}
			if !req.Set.IsZero() {
				fc.Set(req.Set)
			}
			fc.Advance(time.Duration(req.AdvanceMS) * time.Millisecond)
		}
		writeControl(w, http.StatusOK, map[string]any{"now": s.clock.Now().UTC(), "fake": ok})
	default:
		if s.serveSyncControl(w, r, route) {
			return
		}
		controlError(w, http.StatusNotFound, "unknown control endpoint "+route)
	}
}
