package sandbox

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/exactql/exactql/erp/sandbox/gen"
	"github.com/exactql/exactql/erp/sandbox/odata"
)

const (
	pathOrders     = gen.PathSalesOrders
	pathOrderLines = gen.PathSalesOrderLines
	pathMe         = "current/Me"
	navOrderLines  = "SalesOrderLines"
)

// Messages Exact answers with; the sandbox uses them verbatim.
const (
	msgSelectRequired = "Please add a $select or a $top=1 statement to the query string."
	msgSyncFilter     = "This endpoint requires a $filter on Timestamp, e.g. $filter=Timestamp gt 1L."
	msgNotAcceptable  = "The sandbox only answers JSON: send the header Accept: application/json."
)

// handleAPI runs an /api/v1/ call through authentication, rate limiting,
// error blocking and faults, then serves it.
func (s *Sandbox) handleAPI(w *statusWriter, r *http.Request, call *Call) {
	rest := strings.TrimPrefix(r.URL.Path, "/api/v1/")
	div := s.division
	sub := rest
	if rest != pathMe {
		d, after, ok := strings.Cut(rest, "/")
		n, err := strconv.Atoi(d)
		if !ok || err != nil {
			call.Endpoint = rest
			s.countError(rest)
			writeExactError(w, http.StatusNotFound, "Resource not found.")
			return
		}
		div, sub = n, after
	}
	setPath, keyLit, nav := splitResource(sub)
	call.Endpoint, call.Division = setPath, div
	counted := true
	defer func() {
		if counted && isCountedError(w.status) {
			s.countError(setPath)
		}
	}()

	clientID, ok := s.authenticate(r)
	if !ok {
		ri, _ := s.take(rateKey{s.opts.ClientID, div}, false)
		ri.setHeaders(w.Header(), true)
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		writeExactError(w, http.StatusUnauthorized, "Unauthorized: the access token is missing, invalid or expired.")
		return
	}
	key := rateKey{clientID, div}
	if s.faults.take429() {
		ri, _ := s.take(key, false)
		ri.setHeaders(w.Header(), false)
		w.WriteHeader(http.StatusTooManyRequests)
		return
	}
	ri, ok := s.take(key, true)
	if !ok {
		ri.setHeaders(w.Header(), false)
		w.WriteHeader(http.StatusTooManyRequests)
		return
	}
	ri.setHeaders(w.Header(), true)
	if until, blocked := s.blockedUntil(setPath); blocked {
		counted = false
		s.log.count(func(st *Stats) { st.Blocked++ })
		w.Header().Set("Reason", "TooManyErrors")
		writeExactError(w, http.StatusForbidden, "Forbidden - too many errors on this endpoint; it is blocked until "+
			until.UTC().Format(time.RFC3339)+".")
		return
	}
	if st := s.faults.takeFail(); st != 0 {
		s.log.count(func(st *Stats) { st.Faults++ })
		writeExactError(w, st, "An error occurred. Please try again later.")
		return
	}
	if st, msg := s.faults.refuseShape(r.Method, baseURL(r)+r.RequestURI, r.URL.Query().Get("$filter")); st != 0 {
		s.log.count(func(st *Stats) { st.Faults++ })
		writeExactError(w, st, msg)
		return
	}
	if div != s.division {
		w.Header().Set("Reason", "NoDivisionAccess")
		writeExactError(w, http.StatusForbidden, "Forbidden - no access to division "+strconv.Itoa(div)+".")
		return
	}
	if !strings.Contains(r.Header.Get("Accept"), "application/json") {
		writeExactError(w, http.StatusBadRequest, msgNotAcceptable)
		return
	}
	if setPath == pathMe {
		if r.Method != http.MethodGet {
			writeExactError(w, http.StatusMethodNotAllowed, "Method not allowed.")
			return
		}
		s.serveMe(w, r)
		return
	}
	set, known := s.schemas[setPath]
	if !known || (nav != "" && (setPath != pathOrders || nav != navOrderLines || keyLit == "")) {
		writeExactError(w, http.StatusNotFound, "Resource not found for the segment '"+sub+"'.")
		return
	}
	switch {
	case r.Method == http.MethodGet:
		s.serveGet(w, r, div, set, keyLit, nav)
	case r.Method == http.MethodPost && setPath == pathOrders && keyLit == "" && nav == "":
		s.postOrder(w, r, div, set)
	case r.Method == http.MethodPost && setPath == PathWebhookSubscriptions && keyLit == "" && nav == "":
		s.postSubscription(w, r, div, set, clientID)
	case r.Method == http.MethodDelete && setPath == PathWebhookSubscriptions && keyLit != "" && nav == "":
		s.deleteSubscription(w, set, keyLit)
	default:
		writeExactError(w, http.StatusMethodNotAllowed, "Method not allowed on this endpoint.")
	}
}

// splitResource splits "salesorder/SalesOrders(guid'…')/SalesOrderLines"
// into the set path, the key literal and the navigation property.
func splitResource(sub string) (setPath, keyLit, nav string) {
	i := strings.IndexByte(sub, '(')
	if i < 0 {
		return sub, "", ""
	}
	j := strings.LastIndexByte(sub, ')')
	if j < i {
		return sub, "", ""
	}
	setPath, keyLit = sub[:i], sub[i+1:j]
	nav = strings.TrimPrefix(sub[j+1:], "/")
	if keyLit == "" {
		keyLit = "()" // an empty key never matches
	}
	return setPath, keyLit, nav
}

// writeQueryError answers an odata error with its status, anything else 400.
func writeQueryError(w http.ResponseWriter, err error) {
	var oe *odata.Error
	if errors.As(err, &oe) {
		st := oe.Status
		if st < 400 || st > 599 {
			st = http.StatusBadRequest
		}
		writeExactError(w, st, oe.Message)
		return
	}
	writeExactError(w, http.StatusBadRequest, "Invalid request.")
}

var meSet = odata.EntitySet{
	Path: pathMe, Key: "UserID", TypeName: "Exact.Web.Api.System.Me",
	Fields: []odata.Field{
		{Name: "UserID", Type: odata.Guid}, {Name: "UserName", Type: odata.String},
		{Name: "FullName", Type: odata.String}, {Name: "FirstName", Type: odata.String},
		{Name: "LastName", Type: odata.String}, {Name: "Email", Type: odata.String},
		{Name: "CurrentDivision", Type: odata.Int32}, {Name: "LanguageCode", Type: odata.String},
		{Name: "Legislation", Type: odata.Int64}, {Name: "DivisionCustomer", Type: odata.Guid},
		{Name: "DivisionCustomerName", Type: odata.String}, {Name: "ServerTime", Type: odata.DateTime},
		{Name: "ServerUtcOffset", Type: odata.Double}, {Name: "PackageCode", Type: odata.String},
	},
}

const sandboxUserID = "5a0c7c49-1f7e-4c55-9d0b-6b1e3f2a8c10"

// serveMe answers current/Me: one record in d.results. $select is optional.
func (s *Sandbox) serveMe(w http.ResponseWriter, r *http.Request) {
	fields, err := odata.ParseSelect(r.URL.Query().Get("$select"), meSet)
	if err != nil {
		writeQueryError(w, err)
		return
	}
	rec := odata.Record{
		"UserID": sandboxUserID, "UserName": "sandbox.user@example.com", "FullName": "Sandbox User",
		"FirstName": "Sandbox", "LastName": "User", "Email": "sandbox.user@example.com",
		"CurrentDivision": int64(s.division), "LanguageCode": "nl-NL", "Legislation": int64(1),
		"DivisionCustomer": "0d5a4b1e-8f0c-4c1d-9a7e-2b3c4d5e6f70", "DivisionCustomerName": "Sandbox Wholesale B.V.",
		"ServerTime": s.clock.Now().UTC(), "ServerUtcOffset": float64(0), "PackageCode": "WHOLESALE",
	}
	base := baseURL(r)
	var b bytes.Buffer
	b.WriteString(`{"d":{"results":[`)
	b.Write(odata.AppendRecord(nil, meSet, rec, fields, base+"/api/v1/current/Me(guid'"+sandboxUserID+"')"))
	b.WriteString(`]}}`)
	writeJSON(w, http.StatusOK, b.Bytes())
}

func writeJSON(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func baseURL(r *http.Request) string {
	if r.TLS != nil {
		return "https://" + r.Host
	}
	return "http://" + r.Host
}

// keyLiteral formats a key value the way Exact writes it in URLs and skip
// tokens: guid'…', 'text' or a number (Int64 with an L suffix).
func keyLiteral(t odata.Type, v any) string {
	switch x := v.(type) {
	case string:
		if t == odata.Guid {
			return "guid'" + x + "'"
		}
		return "'" + strings.ReplaceAll(x, "'", "''") + "'"
	case int64:
		if t == odata.Int64 {
			return strconv.FormatInt(x, 10) + "L"
		}
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	default:
		return "null"
	}
}

// records returns the records behind a set; sync sets serve their plain set's
// records. The caller holds s.mu.
func (s *Sandbox) records(path string) []odata.Record {
	if rs, ok := s.sets[path]; ok {
		return rs
	}
	if rs, ok := s.syncRecords(path); ok {
		return rs
	}
	if base, ok := gen.SyncBase(path); ok {
		return s.sets[base]
	}
	return nil
}

func isSync(path string) bool { return strings.HasPrefix(path, "sync/") }

var syncFilterRE = regexp.MustCompile(`(^|[\s(])Timestamp\s+gt\s+\d+L?($|[\s)])`)

// selection is a parsed $select: the set's own fields plus, for sales
// orders, whether and which SalesOrderLines fields were asked for.
type selection struct {
	fields     []string // nil: all
	lines      bool     // SalesOrderLines property wanted
	lineFields []string // nil: all
}

func (s *Sandbox) parseSelection(raw string, set odata.EntitySet) (selection, error) {
	if set.Path != pathOrders {
		f, err := odata.ParseSelect(raw, set)
		return selection{fields: f, lines: false}, err
	}
	if strings.TrimSpace(raw) == "" || strings.TrimSpace(raw) == "*" {
		return selection{lines: true}, nil
	}
	var own, lines []string
	sel := selection{}
	for _, p := range strings.Split(raw, ",") {
		p = strings.TrimSpace(p)
		switch {
		case p == navOrderLines:
			sel.lines = true
		case strings.HasPrefix(p, navOrderLines+"/"):
			sel.lines = true
			lines = append(lines, strings.TrimPrefix(p, navOrderLines+"/"))
		default:
			own = append(own, p)
		}
	}
	var err error
	if len(own) == 0 {
		sel.fields = []string{set.Key}
	} else if sel.fields, err = odata.ParseSelect(strings.Join(own, ","), set); err != nil {
		return sel, err
	}
	if len(lines) > 0 {
		if sel.lineFields, err = odata.ParseSelect(strings.Join(lines, ","), s.schemas[pathOrderLines]); err != nil {
			return sel, err
		}
	}
	return sel, nil
}

// serveGet answers a collection, an entity by key or an order's lines.
func (s *Sandbox) serveGet(w http.ResponseWriter, r *http.Request, div int, set odata.EntitySet, keyLit, nav string) {
	q := r.URL.Query()
	topN := -1
	if t := q.Get("$top"); t != "" {
		n, err := strconv.Atoi(t)
		if err != nil || n < 0 {
			writeExactError(w, http.StatusBadRequest, "Invalid value for $top: '"+t+"'.")
			return
		}
		topN = n
	}
	expand := q.Get("$expand")
	if expand != "" && (set.Path != pathOrders || expand != navOrderLines || nav != "") {
		writeExactError(w, http.StatusBadRequest, "$expand is not supported for '"+expand+"' on this endpoint.")
		return
	}
	listSet := set
	if nav != "" {
		listSet = s.schemas[pathOrderLines]
	}
	sel, err := s.parseSelection(q.Get("$select"), listSet)
	if err != nil {
		writeQueryError(w, err)
		return
	}
	if expand != "" {
		sel.lines = true // an expanded navigation property is always returned
	}
	// Entity by key: $select is optional (all properties are returned
	// without it), unlike collections.
	if keyLit != "" && nav == "" {
		s.serveEntity(w, r, div, set, keyLit, sel, expand != "")
		return
	}
	if q.Get("$select") == "" && topN != 1 {
		writeExactError(w, http.StatusBadRequest, msgSelectRequired)
		return
	}
	filter := q.Get("$filter")
	if isSync(set.Path) && !syncFilterRE.MatchString(filter) {
		writeExactError(w, http.StatusBadRequest, msgSyncFilter)
		return
	}
	f, err := odata.ParseFilter(filter, listSet)
	if err != nil {
		writeQueryError(w, err)
		return
	}
	ob, err := odata.ParseOrderBy(q.Get("$orderby"), listSet)
	if err != nil {
		writeQueryError(w, err)
		return
	}
	inline := q.Get("$inlinecount")
	if inline != "" && inline != "allpages" && inline != "none" {
		writeExactError(w, http.StatusBadRequest, "Invalid value for $inlinecount: '"+inline+"'.")
		return
	}
	skip := 0
	if sk := q.Get("$skip"); sk != "" {
		n, err := strconv.Atoi(sk)
		if err != nil || n < 0 {
			writeExactError(w, http.StatusBadRequest, "Invalid value for $skip: '"+sk+"'.")
			return
		}
		skip = n
	}
	keyField, _ := listSet.Field(listSet.Key)

	s.mu.RLock()
	defer s.mu.RUnlock()
	var src []odata.Record
	if nav != "" {
		order := s.findByKey(set, keyLit)
		if order == nil {
			writeExactError(w, http.StatusNotFound, "Sales order not found.")
			return
		}
		src = s.linesByOrder[order["OrderID"].(string)]
	} else {
		src = s.records(set.Path)
	}
	matches := make([]odata.Record, 0, 64)
	for _, rec := range src {
		if f.Match(rec) {
			matches = append(matches, rec)
		}
	}
	// Default order is by key; $orderby sorts stably on top of it, so ties
	// keep a fixed order and skip tokens stay valid between pages.
	sortByKey(matches, listSet.Key)
	if len(ob) > 0 && !isSync(set.Path) {
		ob.Sort(matches)
	}
	total := len(matches)

	start := 0
	if tok := q.Get("$skiptoken"); tok != "" {
		start = -1
		if len(ob) == 0 || isSync(set.Path) {
			// Key order: continue after the token's key, even if that record went away.
			start = sort.Search(len(matches), func(i int) bool {
				return compareLiteral(keyLiteral(keyField.Type, matches[i][listSet.Key]), tok) > 0
			})
		} else {
			for i, rec := range matches {
				if keyLiteral(keyField.Type, rec[listSet.Key]) == tok {
					start = i + 1
					break
				}
			}
		}
		if start < 0 {
			writeExactError(w, http.StatusBadRequest, "Invalid $skiptoken.")
			return
		}
	}
	start = min(start+skip, len(matches))
	page := s.opts.PageSize
	if isSync(set.Path) || strings.HasPrefix(set.Path, "bulk/") {
		page = s.opts.SyncPageSize
	}
	n := min(page, len(matches)-start)
	if topN >= 0 {
		n = min(n, topN)
	}
	pageRecs := matches[start : start+n]

	base := baseURL(r)
	var b bytes.Buffer
	b.WriteString(`{"d":{"results":[`)
	for i, rec := range pageRecs {
		if i > 0 {
			b.WriteByte(',')
		}
		s.appendEntity(&b, base, div, listSet, rec, sel, expand != "")
	}
	b.WriteByte(']')
	if inline == "allpages" {
		b.WriteString(`,"__count":"` + strconv.Itoa(total) + `"`)
	}
	more := start+n < len(matches) && (topN < 0 || topN > n)
	if more && n > 0 {
		last := pageRecs[n-1]
		next := []string{}
		add := func(k, v string) {
			if v != "" {
				next = append(next, k+"="+queryEscape(v))
			}
		}
		add("$filter", filter)
		add("$select", q.Get("$select"))
		add("$orderby", q.Get("$orderby"))
		add("$expand", expand)
		add("$inlinecount", inline)
		if topN >= 0 {
			add("$top", strconv.Itoa(topN-n))
		}
		add("$skiptoken", keyLiteral(keyField.Type, last[listSet.Key]))
		u := base + r.URL.EscapedPath() + "?" + strings.Join(next, "&")
		b.WriteString(`,"__next":`)
		b.Write(jsonString(u))
	}
	b.WriteString(`}}`)
	writeJSON(w, http.StatusOK, b.Bytes())
}

func queryEscape(v string) string {
	return strings.ReplaceAll(url.QueryEscape(v), "+", "%20")
}

// compareLiteral orders key literals: numbers numerically, text bytewise.
func compareLiteral(a, b string) int {
	ai, aerr := strconv.ParseInt(strings.TrimSuffix(a, "L"), 10, 64)
	bi, berr := strconv.ParseInt(strings.TrimSuffix(b, "L"), 10, 64)
	if aerr == nil && berr == nil {
		switch {
		case ai < bi:
			return -1
		case ai > bi:
			return 1
		}
		return 0
	}
	return strings.Compare(strings.ToLower(a), strings.ToLower(b))
}

// sortByKey sorts rs stably by key as compareKeys orders keys. The keys are
// extracted (and strings lower-cased) once per record rather than once per
// comparison, and ties are broken by position (stability) so that a faster
// unstable sort can be used: at 50,000 items this sort dominated the
// sandbox's CPU.
func sortByKey(rs []odata.Record, key string) {
	type keyed struct {
		k   any
		pos int
		r   odata.Record
	}
	ks := make([]keyed, len(rs))
	for i, rec := range rs {
		k := rec[key]
		if str, ok := k.(string); ok {
			k = strings.ToLower(str)
		}
		ks[i] = keyed{k, i, rec}
	}
	slices.SortFunc(ks, func(a, b keyed) int {
		if c := compareKeys(a.k, b.k); c != 0 {
			return c
		}
		return cmp.Compare(a.pos, b.pos)
	})
	for i := range ks {
		rs[i] = ks[i].r
	}
}

// compareKeys orders two keys (strings already lower-cased): strings,
// int64s and float64s by value; anything else (or mismatched kinds) ties.
func compareKeys(a, b any) int {
	switch x := a.(type) {
	case string:
		if y, ok := b.(string); ok {
			return strings.Compare(x, y)
		}
	case int64:
		if y, ok := b.(int64); ok {
			return cmp.Compare(x, y)
		}
	case float64:
		if y, ok := b.(float64); ok {
			return cmp.Compare(x, y)
		}
	}
	return 0
}

// findByKey returns the record of set whose key literal is keyLit, or nil.
// The caller holds s.mu.
func (s *Sandbox) findByKey(set odata.EntitySet, keyLit string) odata.Record {
	kf, _ := set.Field(set.Key)
	want := strings.ToLower(strings.ReplaceAll(keyLit, " ", ""))
	for _, rec := range s.records(set.Path) {
		if strings.ToLower(keyLiteral(kf.Type, rec[set.Key])) == want {
			return rec
		}
	}
	return nil
}

func (s *Sandbox) serveEntity(w http.ResponseWriter, r *http.Request, div int, set odata.EntitySet, keyLit string, sel selection, expand bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	rec := s.findByKey(set, keyLit)
	if rec == nil {
		writeExactError(w, http.StatusNotFound, "Not found: "+set.Path+"("+keyLit+")")
		return
	}
	var b bytes.Buffer
	b.WriteString(`{"d":`)
	s.appendEntity(&b, baseURL(r), div, set, rec, sel, expand)
	b.WriteString(`}`)
	writeJSON(w, http.StatusOK, b.Bytes())
}

// entityURI is a record's __metadata uri.
func entityURI(base string, div int, set odata.EntitySet, rec odata.Record) string {
	kf, _ := set.Field(set.Key)
	return base + "/api/v1/" + strconv.Itoa(div) + "/" + set.Path + "(" + keyLiteral(kf.Type, rec[set.Key]) + ")"
}

// appendEntity encodes rec with absolute picture URLs and, for sales orders,
// the SalesOrderLines property (deferred, or inline when expanded). The
// caller holds s.mu.
func (s *Sandbox) appendEntity(b *bytes.Buffer, base string, div int, set odata.EntitySet, rec odata.Record, sel selection, expand bool) {
	out := rec
	copied := false
	for _, name := range [...]string{"PictureUrl", "PictureThumbnailUrl"} {
		if v, ok := rec[name].(string); ok && strings.HasPrefix(v, "/") {
			if !copied {
				out = make(odata.Record, len(rec))
				for k, x := range rec {
					out[k] = x
				}
				copied = true
			}
			out[name] = base + v
		}
	}
	uri := entityURI(base, div, set, rec)
	enc := odata.AppendRecord(nil, set, out, sel.fields, uri)
	if set.Path != pathOrders || !sel.lines || len(enc) == 0 || enc[len(enc)-1] != '}' {
		b.Write(enc)
		return
	}
	b.Write(enc[:len(enc)-1])
	if len(enc) > 2 && enc[len(enc)-2] != '{' {
		b.WriteByte(',')
	}
	b.WriteString(`"SalesOrderLines":`)
	if !expand {
		b.WriteString(`{"__deferred":{"uri":`)
		b.Write(jsonString(uri + "/SalesOrderLines"))
		b.WriteString(`}}}`)
		return
	}
	lineSet := s.schemas[pathOrderLines]
	id, _ := rec["OrderID"].(string)
	b.WriteString(`{"results":[`)
	for i, l := range s.linesByOrder[id] {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(odata.AppendRecord(nil, lineSet, l, sel.lineFields, entityURI(base, div, lineSet, l)))
	}
	b.WriteString(`]}}`)
}

func jsonString(v string) []byte {
	b, _ := json.Marshal(v)
	return b
}
