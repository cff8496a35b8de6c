package main

import (
	"context"
	"fmt"

	"google.golang.org/grpc/metadata"

	"github.com/grpcmetrics/grpcmetrics/interceptor"
)

// tenantKey is the metadata key that carries a call's tenant: the demo's
// clients send "tenant_<SourceID>", and grpcurl or ghz send any value with
// -H 'x-tenant: acme' or -m '{"x-tenant":"acme"}'.
const tenantKey = "x-tenant"

// tenantLabel is the context label the provider's server families get
// from tenantKey.
const tenantLabel = "tenant"

// tenantLimit is the number of tenants each server's provider families
// keep; the calls of further tenants count as tenant="overflow".
const tenantLimit = 8

// tenantLabels is the demo's context label: the tenant of the call's
// metadata, "" without one, bounded to tenantLimit values per server.
func tenantLabels() interceptor.ContextLabels {
	return interceptor.ContextLabels{
		Names: []string{tenantLabel},
		Values: func(ctx context.Context) []string {
			if v := metadata.ValueFromIncomingContext(ctx, tenantKey); len(v) > 0 {
				return v[:1]
			}
			return []string{""}
		},
		Limit: tenantLimit,
	}
}

// withTenant returns ctx with the tenant of the client with SourceID src
// in its outgoing metadata.
func withTenant(ctx context.Context, src int64) context.Context {
	return metadata.AppendToOutgoingContext(ctx, tenantKey, fmt.Sprintf("tenant_%d", src))
}
