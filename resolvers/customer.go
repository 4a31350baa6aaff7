package resolvers

import (
	"strings"

	"github.com/exactql/exactql/erp"
	"github.com/exactql/exactql/graph/model"
)

func optional(s string) *string {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil
	}
	return &s
}

var addressTypes = map[int]model.AddressType{
	erp.AddressVisit:    model.AddressTypeVisit,
	erp.AddressPostal:   model.AddressTypePostal,
	erp.AddressInvoice:  model.AddressTypeInvoice,
	erp.AddressDelivery: model.AddressTypeDelivery,
}

func addressModel(a erp.Address) *model.Address {
	t, ok := addressTypes[a.Type]
	if !ok {
		t = model.AddressTypeVisit
	}
	return &model.Address{ID: a.ID, Type: t, IsMain: a.Main, Line1: optional(a.AddressLine1),
		Line2: optional(a.AddressLine2), Line3: optional(a.AddressLine3), Postcode: optional(a.Postcode),
		City: optional(a.City), Country: optional(erp.Code(a.Country))}
}

func contactModel(c erp.Contact) *model.Contact {
	full := strings.TrimSpace(c.FullName)
	if full == "" {
		full = strings.TrimSpace(c.FirstName + " " + c.LastName)
	}
	return &model.Contact{ID: c.ID, FirstName: optional(c.FirstName), LastName: optional(c.LastName),
		FullName: full, Email: optional(c.Email), Phone: optional(c.Phone), IsMain: c.IsMainContact}
}
