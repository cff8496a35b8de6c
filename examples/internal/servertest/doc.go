// Package servertest holds the test helpers shared by the example server
// packages: an in-memory ([bufconn]) server and client, a recovery
// interceptor, and a check that every method of a service honours every
// fault mode of [github.com/grpcmetrics/grpcmetrics/examples/fault].
package servertest
