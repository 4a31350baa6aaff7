package validate

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"math/big"

	"github.com/shopspring/decimal"
)

// fingerprintVersion is hashed first, so a change of the canonical form can
// never make an old record compare equal to a different new input.
const fingerprintVersion = "exactql.placeOrder.v1"

type canonicalDecimal struct {
	coef *big.Int
	exp  int32
}

// canonical strips trailing zeros so that equal values have one form
// (1.50 and 1.5, 10 and 1E1), independent of decimal's global String options.
func canonical(d decimal.Decimal) canonicalDecimal {
	coef := new(big.Int).Set(d.Coefficient())
	exp := d.Exponent()
	if coef.Sign() == 0 {
		return canonicalDecimal{coef: coef, exp: 0}
	}
	ten := big.NewInt(10)
	q, r := new(big.Int), new(big.Int)
	for {
		q.QuoRem(coef, ten, r)
		if r.Sign() != 0 {
			break
		}
		coef.Set(q)
		exp++
	}
	return canonicalDecimal{coef: coef, exp: exp}
}

func (c canonicalDecimal) String() string {
	return c.coef.String() + "e" + big.NewInt(int64(c.exp)).String()
}

// fpWriter writes a length-prefixed canonical form: every value is a
// presence byte and, when present, its byte length and raw bytes, so no two
// different inputs share an encoding (json would fold invalid UTF-8).
type fpWriter struct{ b []byte }

func (w *fpWriter) str(s *string) {
	if s == nil {
		w.b = append(w.b, 0)
		return
	}
	w.b = append(w.b, 1)
	w.b = binary.AppendUvarint(w.b, uint64(len(*s)))
	w.b = append(w.b, *s...)
}

func (w *fpWriter) val(s string) { w.str(&s) }

// Fingerprint returns the hex SHA-256 of the input's canonical form, for
// comparing a repeated idempotency key's input with the recorded one
// (ARCHITECTURE §6.3). Decimals compare by value (1.50 equals 1.5), absent
// and null are alike, and strings compare exactly (no trimming, no case
// folding). The idempotency key itself is not part of it.
func Fingerprint(in Input) string {
	w := &fpWriter{}
	w.val(fingerprintVersion)
	w.b = binary.AppendUvarint(w.b, uint64(len(in.Lines)))
	for _, l := range in.Lines {
		w.str(l.ProductID)
		w.str(l.ProductCode)
		w.val(canonical(l.Quantity).String())
		w.str(l.Notes)
	}
	w.str(in.YourReference)
	w.str(in.Description)
	w.str(in.Remarks)
	w.str(in.DeliveryAddressID)
	w.str(in.ShippingMethodID)
	w.str(in.WarehouseID)
	if in.DeliveryDate != nil {
		w.val(in.DeliveryDate.String())
	} else {
		w.str(nil)
	}
	sum := sha256.Sum256(w.b)
	return hex.EncodeToString(sum[:])
}
