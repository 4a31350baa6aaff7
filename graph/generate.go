// Package graph holds the GraphQL schema (schema/*.graphqls) and the executable
// schema gqlgen generates from it. Everything in this package is generated: edit
// the schema files or gqlgen.yml (at the repository root, which gqlgen finds by
// walking up) and run `go generate ./graph/`.
package graph

//go:generate go tool gqlgen generate
