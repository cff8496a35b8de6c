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
	}
	return conflictError(owner, err)
}
