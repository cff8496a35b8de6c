package interceptor

import (
	"errors"
	"fmt"
	"reflect"

	"github.com/prometheus/client_golang/prometheus"
)

// register registers c, the collector of owner ("Interceptor",
// "ServerMetrics" or "ClientMetrics"), on r. The same collector twice is a
// no-op; another collector of the same metrics is an error that says what
// happened, and so is a nil (or typed-nil) r.
func register(r prometheus.Registerer, owner string, c prometheus.Collector) error {
	if rv := reflect.ValueOf(r); !rv.IsValid() || (rv.Kind() == reflect.Pointer && rv.IsNil()) {
		return fmt.Errorf("interceptor: %s.Register: nil prometheus.Registerer", owner)
	}
	err := r.Register(c)
	var are prometheus.AlreadyRegisteredError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &are) && are.ExistingCollector == c:
		return nil
	case errors.As(err, &are):
		return fmt.Errorf("interceptor: %s.Register: another collector already registered these metrics (two %s on one registry? give each its own registry, or wrap the registerer with a distinguishing label): %w", owner, owner, err)
	}
	return fmt.Errorf("interceptor: %s.Register: %w", owner, err)
}
