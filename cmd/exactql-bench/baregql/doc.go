// Package baregql is the bench's baseline: a minimal gqlgen server that
// returns the same 60-product list shape as exactql's product page, straight
// from memory. It measures what gqlgen itself costs, so exactql's cached
// throughput can be reported as a ratio to it.
package baregql

//go:generate go tool gqlgen generate --config gqlgen.yml
