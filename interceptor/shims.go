package interceptor

import (
	"google.golang.org/grpc"
	"google.golang.org/grpc/stats"

	"github.com/grpcmetrics/grpcmetrics/methodmap"
)

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

// ServerStatsHandler is the stats handler of an install of a's server
// side alone.
func (a *A66) ServerStatsHandler() stats.Handler {
	a.soloMu.Lock()
	defer a.soloMu.Unlock()
	if a.soloSrv == nil {
		s, err := NewServerInstall(ServerSets{A66: a}, WithLogger(a.logger))
		if err != nil {
			panic(err)
		}
		a.soloSrv = s
	}
	return a.soloSrv.StatsHandler()
}

// DialOptions are the options of an install of a's client side alone.
func (a *A66) DialOptions() []grpc.DialOption {
	a.soloMu.Lock()
	defer a.soloMu.Unlock()
	if a.soloCli == nil {
		c, err := NewClientInstall(ClientSets{A66: a}, WithLogger(a.logger))
		if err != nil {
			panic(err)
		}
		a.soloCli = c
	}
	return a.soloCli.DialOptions()
}
