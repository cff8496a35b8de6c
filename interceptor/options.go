package interceptor

import (
	"context"

	"go.uber.org/zap"
)

// Option configures an [Interceptor]. Options are applied once, in order, by
// [New]; none of them is consulted again per call. Options that would
// silently overwrite each other (two outcome rules for one method, two client
// ID functions, two status types) make New return an error instead.
type Option interface {
	apply(*config)
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// DefaultClientLimit is the number of distinct client_id values an
// [Interceptor] tracks unless [WithClientLimit] says otherwise. Milvus
// clusters run tens of proxies and coordinators; 1024 leaves room for churn
// while bounding the series a hostile SourceID flood can create to 1024 per
// RootCoord method and call label value.
const DefaultClientLimit = 1024

// MaxClientLimit is the largest limit [WithClientLimit] accepts.
const MaxClientLimit = 1 << 20

type config struct {
	logger       *zap.Logger
	outcomes     map[string]Classifier
	dupOutcome   []string
	clientID     ClientIDFunc
	clientIDSets int
	clientLimit  int
	limitSets    int
	status       StatusFunc // nil: the default rule alone
	statusSets   int
	base         SourceIDFunc // nil: the default rule alone
	baseSets     int

	nilStatusFunc, nilBaseFunc bool
}

// WithLogger sets the logger for the interceptor's rare events (today only a
// panicking [Classifier]). The default is [zap.NewNop]. Nothing
// is logged per call.
func WithLogger(l *zap.Logger) Option {
	return optionFunc(func(c *config) { c.logger = l })
}

// Outcome is the judgement of one call.
type Outcome uint8

const (
	// Default asks for the default rule: fail on an error or a failing Milvus
	// status, success otherwise.
	Default Outcome = iota
	// Success counts the call as success.
	Success
	// Fail counts the call as fail.
	Fail
)

// Classifier judges one finished call from the handler's response and error.
// It must be safe for concurrent use. Returning [Default] applies the default
// rule.
type Classifier func(resp any, err error) Outcome

// WithOutcome overrides the outcome rule for one full method name, which must
// be in the method map. Milvus, for example, counted DescribeIndex's "index
// does not exist" as a success:
//
//	interceptor.WithOutcome("/milvus.proto.milvus.MilvusService/DescribeIndex",
//		func(resp any, err error) interceptor.Outcome {
//			r, ok := resp.(*milvuspb.DescribeIndexResponse)
//			if ok && r.GetStatus().GetErrorCode() == commonpb.ErrorCode_IndexNotExist {
//				return interceptor.Success
//			}
//			return interceptor.Default
//		})
//
// A panic in the classifier is recovered, logged and counted as fail; the
// handler's response and error still reach the caller unchanged.
func WithOutcome(fullMethod string, classify Classifier) Option {
	return optionFunc(func(c *config) {
		if c.outcomes == nil {
			c.outcomes = make(map[string]Classifier)
		}
		if _, dup := c.outcomes[fullMethod]; dup {
			c.dupOutcome = append(c.dupOutcome, fullMethod)
		}
		c.outcomes[fullMethod] = classify
	})
}

// ClientIDFunc returns the client_id label value of a call. It must be safe
// for concurrent use and should not allocate if the interceptor is to stay
// allocation-free. Values that are not valid UTF-8 are repaired, and values
// longer than [MaxClientIDLength] bytes are cut, before they become labels.
type ClientIDFunc func(ctx context.Context, req any) string

// MaxClientIDLength is the longest client_id label value, in bytes, that a
// [ClientIDFunc] can produce; longer values are cut at a rune boundary.
const MaxClientIDLength = 128

// WithClientID replaces the default client_id rule ("client_<SourceID>" from
// the request's GetBase().GetSourceID(), [registry.UnknownClientLabel] without
// a base) with fn. The client limit applies to fn's values too.
func WithClientID(fn ClientIDFunc) Option {
	return optionFunc(func(c *config) {
		c.clientID = fn
		c.clientIDSets++
	})
}

// WithClientLimit sets how many distinct client_id values are tracked, from 1
// to [MaxClientLimit]; the default is [DefaultClientLimit]. Calls from further
// clients are counted under [registry.OverflowClientLabel], and each such call
// increments grpcmetrics_client_id_overflow_total. The fallback values do not
// count towards the limit.
func WithClientLimit(n int) Option {
	return optionFunc(func(c *config) {
		c.clientLimit = n
		c.limitSets++
	})
}
