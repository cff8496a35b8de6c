package a66

import (
	"context"
	"fmt"
	"log"
	"net"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/stats"

	"github.com/grpcmetrics/grpcmetrics/interceptor"
)

// Example_connectionMetrics turns on grpc-go's subchannel metrics in the
// A66 set, with the optional label of the disconnection's cause, and
// connects to an address where nothing listens: one failed connection
// attempt.
func Example_connectionMetrics() {
	set, err := interceptor.NewA66(interceptor.WithGRPCMetrics(interceptor.GRPCMetrics{
		Metrics: stats.NewMetricSet(
			"grpc.subchannel.connection_attempts_succeeded",
			"grpc.subchannel.connection_attempts_failed",
			"grpc.subchannel.disconnections",
			"grpc.subchannel.open_connections",
		),
		OptionalLabels: []string{"grpc.disconnect_error"},
	}))
	if err != nil {
		log.Fatal(err)
	}
	client, err := interceptor.NewClientInstall(interceptor.ClientSets{A66: set})
	if err != nil {
		log.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	if err := client.Register(reg); err != nil {
		log.Fatal(err)
	}

	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	addr := lis.Addr().String()
	if err := lis.Close(); err != nil { // nothing listens there now
		log.Fatal(err)
	}

	dial := append(client.DialOptions(), // the metrics come through its stats handler
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		// One attempt in this example: the next would be a minute later.
		grpc.WithConnectParams(grpc.ConnectParams{Backoff: backoff.Config{BaseDelay: time.Minute, Multiplier: 1.6, MaxDelay: time.Minute}}))
	conn, err := grpc.NewClient("passthrough:///"+addr, dial...)
	if err != nil {
		log.Fatal(err)
	}
	conn.Connect()
	for s := conn.GetState(); s != connectivity.TransientFailure; s = conn.GetState() {
		conn.WaitForStateChange(context.Background(), s) // grpc-go records the failure before this state
	}
	if err := conn.Close(); err != nil {
		log.Fatal(err)
	}

	mfs, err := reg.Gather()
	if err != nil {
		log.Fatal(err)
	}
	for _, mf := range mfs {
		if strings.HasPrefix(mf.GetName(), "grpc_subchannel_") {
			for _, m := range mf.GetMetric() {
				fmt.Println(mf.GetName(), m.GetCounter().GetValue())
			}
		}
	}
	// Output: grpc_subchannel_connection_attempts_failed_total 1
}
