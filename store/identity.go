package store

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// ErrReplaced means the database file at the store's path is no longer the
// file this process has open: it was deleted, or another file was put in
// its place. What is written now would be missing after a restart (an
// empty order journal, so duplicates become possible, and a lost token
// chain), so readiness fails and new orders are refused until the store is
// restored or the process restarted on the file that is there.
var ErrReplaced = errors.New("store: the database file was deleted or replaced while open")

// CheckIdentity compares the identity (device and inode, through
// os.SameFile) of the file this store opened with that of the file now at
// its path. It returns nil when they are the same file, an error wrapping
// ErrReplaced when the path is gone or names another file, and another
// error when the path cannot be examined. It is cheap (two stat calls):
// Ping (the /readyz heartbeat) and Accept run it every time, and the order
// service asks it before validating an order.
func (s *SQLite) CheckIdentity() error {
	if s.file == nil {
		return nil // not opened by Open (no file to compare)
	}
	open, err := s.file.Stat()
	if err != nil {
		return fmt.Errorf("store.CheckIdentity: open file: %w", err)
	}
	cur, err := os.Stat(s.path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("store.CheckIdentity: %s is gone: %w", FileName, ErrReplaced)
	case err != nil:
		return fmt.Errorf("store.CheckIdentity: %w", err)
	case !os.SameFile(open, cur):
		return fmt.Errorf("store.CheckIdentity: %s is another file now: %w", FileName, ErrReplaced)
	}
	return nil
}
