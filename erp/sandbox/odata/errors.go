package odata

import (
	"fmt"
	"net/http"
	"unicode/utf8"
)

// Error is an OData error. The sandbox answers it with Exact's body
// {"error":{"code":"","message":{"lang":"","value":Message}}} and the HTTP
// status Status (400 for every query syntax or type error).
type Error struct {
	// Status is the HTTP status code to answer with.
	Status int
	// Message is the text placed in error.message.value.
	Message string
}

// Error returns the message with the status, e.g.
// "odata: 400: Syntax error at position 4.".
func (e *Error) Error() string {
	return fmt.Sprintf("odata: %d: %s", e.Status, e.Message)
}

// badRequest returns a 400 *Error with a formatted message.
func badRequest(format string, args ...any) *Error {
	return &Error{Status: http.StatusBadRequest, Message: fmt.Sprintf(format, args...)}
}

// runePos converts a byte offset in s into the character position that
// WCF Data Services (Exact's OData stack) reports in its messages.
func runePos(s string, byteOff int) int {
	if byteOff > len(s) {
		byteOff = len(s)
	}
	if byteOff < 0 {
		return 0
	}
	return utf8.RuneCountInString(s[:byteOff])
}

// Body returns the JSON body Exact answers an error with:
// {"error":{"code":"","message":{"lang":"","value":Message}}}.
func (e *Error) Body() []byte {
	b := append([]byte(nil), `{"error":{"code":"","message":{"lang":"","value":`...)
	b = appendString(b, e.Message)
	return append(b, "}}}"...)
}
