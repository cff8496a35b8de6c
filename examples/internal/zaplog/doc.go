// Package zaplog adapts a *zap.Logger to go-grpc-middleware's logging
// interceptors, so that the examples log every gRPC call through zap:
//
//	grpc.ChainUnaryInterceptor(
//		logging.UnaryServerInterceptor(zaplog.Logger(logger)),
//		…
//	)
package zaplog
