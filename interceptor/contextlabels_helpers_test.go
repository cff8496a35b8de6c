package interceptor_test

import "github.com/grpcmetrics/grpcmetrics/interceptor"

// cxClientOptions converts options for NewClientMetrics.
func cxClientOptions(opts []interceptor.Option) []interceptor.Option {
	return append([]interceptor.Option(nil), opts...)
}
