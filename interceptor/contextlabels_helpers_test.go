package interceptor_test

import "github.com/grpcmetrics/grpcmetrics/interceptor"

// cxClientOptions converts options for NewClientMetrics.
func cxClientOptions(opts []interceptor.Option) []interceptor.Option {
	out := make([]interceptor.Option, len(opts))
	for i, o := range opts {
		out[i] = o
	}
	return out
}
