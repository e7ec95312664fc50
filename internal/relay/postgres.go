//go:build !nopostgres

package relay

import (
	"errors"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // PostgreSQL driver "pgx"
)

// The PostgreSQL driver (a fleet's shared registry) is left out of builds
// tagged nopostgres: gateways never run a fleet relay, and it adds about
// 4 MB to the binary.
const postgresBuilt = true

// pgUnique says whether err is PostgreSQL's unique_violation.
func pgUnique(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}
