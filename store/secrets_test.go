package store

import (
	"bytes"
	"context"
	"testing"
)

func TestSecretIsCreatedOnceAndSurvivesReopen(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	s1, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	a, err := s1.Secret(ctx, "orders-cursor", 32)
	if err != nil {
		t.Fatal(err)
	}
	again, err := s1.Secret(ctx, "orders-cursor", 32)
	if err != nil || !bytes.Equal(a, again) || len(a) != 32 {
		t.Fatalf("second read %x (err %v), first %x", again, err, a)
	}
	other, err := s1.Secret(ctx, "other", 32)
	if err != nil || bytes.Equal(a, other) {
		t.Fatalf("another name gave %x (err %v)", other, err)
	}
	if err := s1.Close(); err != nil {
		t.Fatal(err)
	}
	s2, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	b, err := s2.Secret(ctx, "orders-cursor", 32)
	if err != nil || !bytes.Equal(a, b) {
		t.Fatalf("after reopen %x (err %v), before %x", b, err, a)
	}
	if _, err := s2.Secret(ctx, "", 32); err == nil {
		t.Error("empty name accepted")
	}
	if _, err := s2.Secret(ctx, "x", 4); err == nil {
		t.Error("4-byte secret accepted")
	}
}
