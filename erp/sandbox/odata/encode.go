package odata

import (
	"math"
	"strconv"
	"time"
	"unicode/utf8"
)

// AppendRecord appends r to dst as one object of Exact's verbose JSON:
// {"__metadata":{"uri":uri,"type":set.TypeName},"F":v,...} with the fields
// in the order given (nil fields means every field of set, in set order).
//
// Values are encoded per field type: Guid and String as JSON strings, Int64
// as a JSON string ("123", as Exact does), Int32 and Byte as numbers, Double
// as the shortest number without exponent for ordinary magnitudes, Boolean
// as true/false, DateTime as "/Date(ms)/", nil as null. A value whose Go kind
// does not fit its field type, and a field not in set, is encoded by its Go
// kind instead; a kind with no JSON form is written as null.
func AppendRecord(dst []byte, set EntitySet, r Record, fields []string, uri string) []byte {
	dst = append(dst, `{"__metadata":{"uri":`...)
	dst = appendString(dst, uri)
	dst = append(dst, `,"type":`...)
	dst = appendString(dst, set.TypeName)
	dst = append(dst, '}')
	if fields == nil {
		for _, f := range set.Fields {
			dst = appendField(dst, f.Name, f.Type, r[f.Name])
		}
	} else {
		for _, name := range fields {
			f, _ := set.Field(name) // Type 0 when unknown: encoded by Go kind
			dst = appendField(dst, name, f.Type, r[name])
		}
	}
	return append(dst, '}')
}

func appendField(dst []byte, name string, typ Type, v any) []byte {
	dst = append(dst, ',')
	dst = appendString(dst, name)
	dst = append(dst, ':')
	return appendValue(dst, typ, v)
}

// appendValue encodes v for a field of type typ.
func appendValue(dst []byte, typ Type, v any) []byte {
	if v == nil {
		return append(dst, "null"...)
	}
	if typ == Int64 {
		if n, ok := normalize(Int64, v).(int64); ok {
			dst = append(dst, '"')
			dst = strconv.AppendInt(dst, n, 10)
			return append(dst, '"')
		}
	}
	if typ == Boolean {
		if b, ok := normalize(Boolean, v).(bool); ok {
			return strconv.AppendBool(dst, b)
		}
	}
	if typ == Double {
		if f, ok := normalize(Double, v).(float64); ok {
			return appendFloat(dst, f)
		}
	}
	switch x := v.(type) {
	case string:
		return appendString(dst, x)
	case bool:
		return strconv.AppendBool(dst, x)
	case float64:
		return appendFloat(dst, x)
	case float32:
		return appendFloat(dst, float64(x))
	case time.Time:
		dst = append(dst, `"/Date(`...)
		dst = strconv.AppendInt(dst, x.UnixMilli(), 10)
		return append(dst, `)/"`...)
	case *time.Time:
		if x == nil {
			return append(dst, "null"...)
		}
		return appendValue(dst, typ, *x)
	}
	if n, ok := normalize(Int64, v).(int64); ok {
		return strconv.AppendInt(dst, n, 10)
	}
	return append(dst, "null"...)
}

// appendFloat writes f as a JSON number: plain decimal notation for
// magnitudes between 1e-6 and 1e21 (all money values), exponent notation
// outside, null for NaN and infinities (which JSON cannot carry).
func appendFloat(dst []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(dst, "null"...)
	}
	if a := math.Abs(f); a != 0 && (a < 1e-6 || a >= 1e21) {
		return strconv.AppendFloat(dst, f, 'e', -1, 64)
	}
	return strconv.AppendFloat(dst, f, 'f', -1, 64)
}

const hexDigits = "0123456789abcdef"

// appendString writes s as a JSON string. Control characters, quotes,
// backslashes and U+2028/U+2029 are escaped; invalid UTF-8 becomes U+FFFD.
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
