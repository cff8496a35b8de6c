// Package interceptor is a frozen copy of grpcmetrics' interceptor package
// as it was before the installs redesign (sets with engines of their own,
// installed alone or in a Server), kept unchanged so that BenchmarkEngine
// can measure the redesign against it in one run. Do not edit it, except to
// keep it compiling.
package interceptor
