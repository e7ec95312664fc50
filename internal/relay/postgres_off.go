//go:build nopostgres

package relay

const postgresBuilt = false

func pgUnique(error) bool { return false }
