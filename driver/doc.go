// Package driver is what the authors of dropout backends use, as
// database/sql/driver is to database/sql: the pieces every backend of this
// module shares that users of the root package never call.
//
// Conventions: functions take the destination first; errors wrap the root
// package's sentinels (dropout.ErrUnavailable, …) once.
package driver
