package interceptor

import (
	"fmt"

	"go.uber.org/zap"
)

// member is a set (or a side of A66) that joins an install: its name in
// the install's sets, its membership, and its context labels' tuples, if
// any, which log through the install's logger.
type member struct {
	name   string
	b      *belonging
	tuples *ctxTuples
	a66    *A66 // an A66's side: its recorder of grpc-go's metrics logs through the install's logger
	// milvus26 is a Milvus26 set, whose Abandon logs through the install's
	// logger.
	milvus26 *Milvus26
}

// joinAll makes every member belong to the install, all or none: an error
// names the first member that belongs to another install already.
func joinAll(members []member, logger *zap.Logger) error {
	for i, m := range members {
		if err := m.b.join(); err != nil {
			for _, done := range members[:i] {
				done.b.leave()
			}
			return fmt.Errorf("%s %w", m.name, err)
		}
	}
	for _, m := range members {
		if m.tuples != nil {
			m.tuples.logger = logger
		}
		if m.a66 != nil && m.a66.grpc != nil {
			m.a66.grpc.SetLogger(logger)
		}
		if m.milvus26 != nil {
			m.milvus26.logger.Store(logger)
		}
	}
	return nil
}
