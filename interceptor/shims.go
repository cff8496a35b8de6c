package interceptor

import "github.com/grpcmetrics/grpcmetrics/methodmap"

// Names of the API before installs; they go once every caller uses the
// new ones.

// Interceptor is [MilvusCounters].
type Interceptor = MilvusCounters

// New is [NewMilvusCounters].
func New(m *methodmap.Map, opts ...MilvusOption) (*MilvusCounters, error) {
	return NewMilvusCounters(m, opts...)
}

// Server is [ServerInstall].
type Server = ServerInstall

// NewServer is [NewServerInstall].
func NewServer(sets ServerSets, opts ...InstallOption) (*ServerInstall, error) {
	return NewServerInstall(sets, opts...)
}

// InstallOption configures an install.
type InstallOption = Option
