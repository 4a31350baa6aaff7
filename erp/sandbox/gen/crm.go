package gen

import (
	"fmt"
	"strings"

	"github.com/exactql/exactql/erp/sandbox/odata"
)

type account struct {
	id, code, name string
	currency       string
	rule           string // demo rule, "" for ordinary customers
	discount       float64
	blocked        bool
	list           *priceList
	invoiceTo      *account
	ship           *shipMethod
	payment        string
	mainContact    *contact
	contacts       []*contact
	delivery       []string // delivery address IDs, main first
	rec            odata.Record
}

type contact struct {
	id, fullName string
}

var demoSpecs = []struct{ name, rule, city string }{
	{"Bakkerij De Vries", RuleCustomerPrice, "Utrecht"},
	{"Café Het Hoekje", RulePriceList, "Amsterdam"},
	{"Bouwbedrijf Jansen & Zn.", RuleAccountDiscount, "Zwolle"},
	{"Fietsenwinkel Bakker", RuleDefaultPrice, "Haarlem"},
	{"Restaurant 't Gesloten Luik", RuleBlocked, "Maastricht"},
	{"Atlantic Trading Inc.", RuleOtherCurrency, "Rotterdam"},
}

var namePrefixes = []string{"Bakkerij", "Restaurant", "Hotel", "Bouwbedrijf", "Schildersbedrijf", "Café", "Slagerij", "Kantoor", "Installatiebedrijf", "Lunchroom", "Brasserie", "Garage"}
var nameCores = []string{"De Zon", "Het Anker", "Smit", "Visser", "De Molen", "Mulder", "Øresund", "Van Dijk", "De Gouden Leeuw", "Zeezicht", "Meijer", "Crème de la Crème", "Hendriks", "De Boer", "Jansen", "Bos"}
var firstNames = []string{"Anouk", "Sjoerd", "Zoë", "Ömer", "Daan", "Fleur", "Lotte", "Bram", "Sanne", "Thijs", "Noor", "Jeroen", "Renée", "Mohammed", "Eva", "Kees"}
var lastNames = []string{"de Vries", "Jansen", "van den Berg", "Bakker", "Visser", "Smit", "Meijer", "de Boer", "Mulder", "de Groot", "Bos", "Vos", "Peters", "Hendriks", "van Dijk", "Dekker"}
var cities = []string{"Amsterdam", "Rotterdam", "Den Haag", "Utrecht", "Eindhoven", "Groningen", "Tilburg", "Almere", "Breda", "Nijmegen", "Zwolle", "Haarlem", "Maastricht", "Leeuwarden", "'s-Hertogenbosch"}
var streets = []string{"Hoofdstraat", "Kerkstraat", "Dorpsstraat", "Industrieweg", "Stationsweg", "Marktplein", "Molenweg", "Nieuwstraat", "Havenkade", "Julianalaan"}

func (g *generator) genAccounts() {
	n := g.opts.Customers
	g.accounts = make([]*account, 0, n)
	for i := range n {
		a := &account{id: g.guid(), code: fmt.Sprintf("%18d", 1001+i), currency: g.opts.Currency}
		city := pick(g, cities)
		if i < len(demoSpecs) {
			a.name, a.rule, city = demoSpecs[i].name, demoSpecs[i].rule, demoSpecs[i].city
		} else {
			a.name = pick(g, namePrefixes) + " " + pick(g, nameCores)
			if g.chance(0.05) {
				a.currency = g.foreign
			}
			if g.chance(0.03) {
				a.blocked = true
			}
			if g.chance(0.2) {
				a.discount = pick(g, []float64{0.025, 0.05, 0.1})
			}
		}
		switch a.rule {
		case RuleAccountDiscount:
			a.discount = 0.1
		case RuleBlocked:
			a.blocked = true
		case RuleOtherCurrency:
			a.currency = g.foreign
		}
		if a.rule != "" || g.chance(0.85) {
			a.ship = pick(g, g.ships[:4]) // active methods only
		}
		a.payment = pick(g, []string{"14", "30"})
		g.accounts = append(g.accounts, a)
		g.accountRecord(a, city)
	}
	// A few customers are invoiced through another account (head office).
	for i := len(demoSpecs); i < n; i++ {
		if i%23 == 7 {
			a, to := g.accounts[i], g.accounts[len(demoSpecs)+(i*7)%(n-len(demoSpecs))]
			if to == a {
				continue
			}
			a.invoiceTo = to
			a.rec["InvoiceAccount"], a.rec["InvoiceAccountCode"], a.rec["InvoiceAccountName"] = to.id, to.code, to.name
		}
	}
	for _, a := range g.accounts {
		g.genContactsAndAddresses(a)
		if a.rule != "" {
			g.demo = append(g.demo, DemoBuyer{
				Name: a.name, Rule: a.rule, AccountID: a.id, AccountCode: a.code, ContactID: a.mainContact.id,
			})
		}
	}
}

func slug(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	if b.Len() == 0 {
		return "klant"
	}
	return b.String()
}

func searchCode(name string) string {
	s := strings.ToUpper(slug(name))
	return s[:min(10, len(s))]
}

var currencyNames = map[string]string{"EUR": "Euro", "USD": "US Dollar"}

func (g *generator) phone() string {
	return fmt.Sprintf("+31 %d %03d %04d", 10+g.r.IntN(89), g.r.IntN(1000), g.r.IntN(10000))
}

func (g *generator) postcode() string {
	return fmt.Sprintf("%04d %c%c", 1000+g.r.IntN(9000), 'A'+rune(g.r.IntN(26)), 'A'+rune(g.r.IntN(26)))
}

func (g *generator) street() string {
	return fmt.Sprintf("%s %d", pick(g, streets), 1+g.r.IntN(250))
}

func (g *generator) accountRecord(a *account, city string) {
	payDesc := a.payment + " dagen"
	curDesc := currencyNames[a.currency]
	var ship any
	if a.ship != nil {
		ship = a.ship.id
	}
	c, m := g.stamps()
	a.rec = g.add(PathAccounts, odata.Record{
		"ID": a.id, "Code": a.code, "Name": a.name, "SearchCode": searchCode(a.name),
		"Email": "inkoop@" + slug(a.name) + ".example", "Phone": g.phone(), "Website": nil,
		"VATNumber": fmt.Sprintf("NL%09dB01", g.r.IntN(1_000_000_000)), "ChamberOfCommerce": fmt.Sprintf("%08d", g.r.IntN(100_000_000)),
		"Status": "C", "Type": "A", "IsSales": true, "IsSupplier": false, "Blocked": a.blocked,
		"PriceList": nil, "DiscountSales": a.discount,
		"PaymentConditionSales": a.payment, "PaymentConditionSalesDescription": payDesc,
		"SalesCurrency": a.currency, "SalesCurrencyDescription": curDesc, "SalesVATCode": nil,
		"ShippingMethod": ship, "ShippingLeadDays": int64(1 + g.r.IntN(3)), "DeliveryAdvice": int64(0),
		"InvoiceAccount": nil, "InvoiceAccountCode": nil, "InvoiceAccountName": nil,
		"CreditLineSales": float64(5000 * (1 + g.r.IntN(10))), "MainContact": nil, "Language": "NL        ",
		"AddressLine1": g.street(), "AddressLine2": nil, "AddressLine3": nil, "Postcode": g.postcode(),
		"City": city, "State": nil, "Country": "NL ", "CountryName": "Nederland",
		"Created": c, "Modified": m, "Division": g.divV,
	})
}

func (g *generator) genContactsAndAddresses(a *account) {
	nc := 1 + g.r.IntN(3)
	for k := range nc {
		first, last := pick(g, firstNames), pick(g, lastNames)
		ct := &contact{id: g.guid(), fullName: first + " " + last}
		a.contacts = append(a.contacts, ct)
		if k == 0 {
			a.mainContact = ct
		}
		c, m := g.stamps()
		g.add(PathContacts, odata.Record{
			"ID": ct.id, "Account": a.id, "AccountName": a.name, "FirstName": first, "LastName": last,
			"FullName": ct.fullName, "Initials": first[:1] + ".", "Email": slug(first) + "@" + slug(a.name) + ".example",
			"Phone": g.phone(), "Mobile": nil, "IsMainContact": k == 0,
			"JobTitleDescription": pick(g, []string{"Inkoper", "Eigenaar", "Bedrijfsleider", "Administratie"}),
			"Language":            "NL        ", "Created": c, "Modified": m, "Division": g.divV,
		})
	}
	a.rec["MainContact"] = a.mainContact.id

	addr := func(typ int64, typDesc string, main bool, contactID any, line1, postcode, city string) string {
		id := g.guid()
		var contactName any
		if contactID != nil {
			contactName = a.mainContact.fullName
		}
		c, m := g.stamps()
		g.add(PathAddresses, odata.Record{
			"ID": id, "Account": a.id, "AccountName": a.name, "Contact": contactID, "ContactName": contactName,
			"Type": typ, "TypeDescription": typDesc, "Main": main,
			"AddressLine1": line1, "AddressLine2": nil, "AddressLine3": nil, "Postcode": postcode,
			"City": city, "State": nil, "Country": "NL ", "Phone": nil, "Warehouse": nil,
			"Created": c, "Modified": m, "Division": g.divV,
		})
		return id
	}
	addr(1, "Visit", true, nil, a.rec["AddressLine1"].(string), a.rec["Postcode"].(string), a.rec["City"].(string))
	addr(3, "Invoice", true, a.mainContact.id, "Postbus "+fmt.Sprint(100+g.r.IntN(9000)), g.postcode(), a.rec["City"].(string))
	nd := 1 + g.r.IntN(3)
	if a.rule != "" {
		nd = max(nd, 2)
	}
	for k := range nd {
		a.delivery = append(a.delivery, addr(4, "Delivery", k == 0, nil, g.street(), g.postcode(), pick(g, cities)))
	}
}
