package main

import (
	"context"
	"fmt"

	"google.golang.org/grpc/metadata"
)

// tenantKey is the metadata key that carries a call's tenant: the demo's
// clients send "tenant_<SourceID>".
const tenantKey = "x-tenant"

// withTenant returns ctx with the tenant of the client with SourceID src
// in its outgoing metadata.
func withTenant(ctx context.Context, src int64) context.Context {
	return metadata.AppendToOutgoingContext(ctx, tenantKey, fmt.Sprintf("tenant_%d", src))
}
