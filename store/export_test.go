package store

import (
	"context"
	"errors"
)

// KillRefreshHolder simulates the death of the process holding p's refresh
// lock: PostgreSQL terminates the session that holds it, as it does when a
// replica's connection drops.
func KillRefreshHolder(ctx context.Context, p *Postgres) error {
	p.mu.Lock()
	c := p.lockConn
	p.mu.Unlock()
	if c == nil {
		return errors.New("no refresh lock held")
	}
	pid := c.Conn().PgConn().PID()
	var ok bool
	if err := p.pool.QueryRow(ctx, `SELECT pg_terminate_backend($1)`, int64(pid)).Scan(&ok); err != nil {
		return err
	}
	if !ok {
		return errors.New("pg_terminate_backend refused")
	}
	return nil
}
