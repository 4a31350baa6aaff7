package main

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/exactql/exactql/erp/sandbox"
	"github.com/exactql/exactql/erp/sandbox/gen"
	"github.com/exactql/exactql/erp/sandbox/odata"
)

// Buyer price situations.
const (
	kindAgreements = "agreements"
	kindPriceList  = "price list"
	kindDiscount   = "discount"
	kindDefault    = "default"
	kindForeign    = "other currency"
)

// buyer is a generated customer account the bench signs tokens for.
type buyer struct {
	Account, Contact, Code string
	Kind                   string
	PriceList              string // "" without one
	Token                  string
}

// catalog is what the bench knows of a generated data set: the same
// options give the sandbox the very same data (gen is deterministic).
type catalog struct {
	Buyers []buyer
	Codes  []string // sellable item codes
	Words  []string // search terms taken from item descriptions
	Groups []string // item group IDs
}

// sandboxOptions returns the options of a sandbox with items items and
// customers customers; Today is fixed so that gen.Generate with the same
// options reproduces its data.
func sandboxOptions(items, customers int, today time.Time, minute, day int) sandbox.Options {
	d := gen.DefaultOptions()
	d.Today = today
	if items > 0 {
		d.Items = items
	}
	if customers > 0 {
		d.Customers = customers
	}
	return sandbox.Options{Data: d, MinuteLimit: minute, DayLimit: day}
}

// loadCatalog generates the data set of o and lists its buyers (blocked
// accounts left out), item codes, search words and item groups.
func loadCatalog(o sandbox.Options) (*catalog, error) {
	ds := gen.Generate(o.Data)
	agreements := map[string]bool{}
	for _, r := range ds.Sets[gen.PathSalesItemPrices] {
		if a, ok := r["Account"].(string); ok && a != "" {
			agreements[a] = true
		}
	}
	c := &catalog{}
	for _, r := range ds.Sets[gen.PathAccounts] {
		b := buyer{Account: str(r, "ID"), Contact: str(r, "MainContact"), Code: strings.TrimSpace(str(r, "Code")), PriceList: str(r, "PriceList")}
		if blocked, _ := r["Blocked"].(bool); blocked || b.Account == "" || b.Contact == "" {
			continue
		}
		disc, _ := r["DiscountSales"].(float64)
		switch {
		case agreements[b.Account]:
			b.Kind = kindAgreements
		case str(r, "SalesCurrency") != o.Data.Currency:
			b.Kind = kindForeign
		case b.PriceList != "":
			b.Kind = kindPriceList
		case disc > 0:
			b.Kind = kindDiscount
		default:
			b.Kind = kindDefault
		}
		tok, err := token(b.Account, b.Contact)
		if err != nil {
			return nil, err
		}
		b.Token = tok
		c.Buyers = append(c.Buyers, b)
	}
	words := map[string]bool{}
	for _, r := range ds.Sets[gen.PathItems] {
		if sales, _ := r["IsSalesItem"].(bool); !sales {
			continue
		}
		if code := str(r, "Code"); code != "" {
			c.Codes = append(c.Codes, code)
		}
		for w := range strings.FieldsSeq(str(r, "Description")) {
			if len([]rune(w)) >= 5 && !strings.ContainsAny(w, "'\"%()") {
				words[strings.ToLower(w)] = true
			}
		}
	}
	for w := range words {
		c.Words = append(c.Words, w)
	}
	slices.Sort(c.Words)
	for _, r := range ds.Sets[gen.PathItemGroups] {
		if id := str(r, "ID"); id != "" {
			c.Groups = append(c.Groups, id)
		}
	}
	if len(c.Buyers) == 0 || len(c.Codes) == 0 || len(c.Words) == 0 {
		return nil, fmt.Errorf("loadCatalog: generated data set has %d buyers, %d sellable items, %d words", len(c.Buyers), len(c.Codes), len(c.Words))
	}
	return c, nil
}

// demoBuyer returns the buyer of the sandbox's demo account with rule.
func demoBuyer(sb *sandbox.Sandbox, rule string) (buyer, error) {
	for _, d := range sb.DemoBuyers() {
		if d.Rule == rule {
			tok, err := token(d.AccountID, d.ContactID)
			return buyer{Account: d.AccountID, Contact: d.ContactID, Code: strings.TrimSpace(d.AccountCode), Kind: rule, Token: tok}, err
		}
	}
	return buyer{}, fmt.Errorf("demoBuyer: no demo buyer with rule %s", rule)
}

// byKind returns the buyers of kind.
func (c *catalog) byKind(kind string) []buyer {
	var out []buyer
	for _, b := range c.Buyers {
		if b.Kind == kind {
			out = append(out, b)
		}
	}
	return out
}

// mixed returns n buyers taking each price situation in turn, so that every
// kind is represented as long as it has buyers.
func (c *catalog) mixed(n int) []buyer {
	kinds := []string{kindPriceList, kindAgreements, kindDefault, kindDiscount, kindForeign}
	pools := map[string][]buyer{}
	for _, k := range kinds {
		pools[k] = c.byKind(k)
	}
	var out []buyer
	for len(out) < n {
		added := false
		for _, k := range kinds {
			if len(pools[k]) > 0 && len(out) < n {
				out = append(out, pools[k][0])
				pools[k] = pools[k][1:]
				added = true
			}
		}
		if !added {
			break
		}
	}
	return out
}

func str(r odata.Record, k string) string {
	s, _ := r[k].(string)
	return s
}
