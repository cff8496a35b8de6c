// Package strtab is an immutable hash table from strings to values, built
// once and then read concurrently without locks or allocations.
//
// It exists for the per-call method lookup of [methodmap.Map] and the
// interceptor: the keys are a server's full gRPC method names, known when the
// table is built, and a read must cost a few nanoseconds. The hash reads two
// 8-byte words of the key (its end and its middle) and its length, which
// tells method names apart far more cheaply than hashing every byte; every
// hit is confirmed by a full string comparison, so any input, including
// hostile input, gets a correct answer. Probing is linear in a table at most
// a quarter full, and the table never changes after [New], so a lookup's cost
// is bounded by the keys given to New alone, never by the input.
//
// [methodmap.Map]: https://pkg.go.dev/github.com/grpcmetrics/grpcmetrics/methodmap#Map
package strtab
