package grpcrecorder

import (
	"fmt"

	"github.com/prometheus/otlptranslator"
	estats "google.golang.org/grpc/experimental/stats"
)

// sdkDefaultBounds are the OpenTelemetry SDK's default histogram bounds,
// which it uses when a descriptor gives none, or gives bounds that are not
// strictly increasing.
func sdkDefaultBounds() []float64 {
	return []float64{0, 5, 10, 25, 50, 75, 100, 250, 500, 750, 1000, 2500, 5000, 7500, 10000}
}

// histogramBounds returns the bounds the plugin's histogram of d has: d's
// own, unless they are empty or not strictly increasing.
func histogramBounds(d *estats.MetricDescriptor) []float64 {
	b := d.Bounds
	if len(b) == 0 {
		return sdkDefaultBounds()
	}
	for i := 1; i < len(b); i++ {
		if b[i-1] >= b[i] {
			return sdkDefaultBounds()
		}
	}
	return append([]float64(nil), b...)
}

// familyName returns the name under which the OpenTelemetry Prometheus
// exporter v0.69.0, under its default translation, writes the instrument
// that grpc-go's plugin makes for d: dots to underscores, the unit's suffix,
// _total for counters, _ratio for gauges of unit "1".
func familyName(d *estats.MetricDescriptor) (string, error) {
	var typ otlptranslator.MetricType
	switch d.Type {
	case estats.MetricTypeIntCount, estats.MetricTypeFloatCount:
		typ = otlptranslator.MetricTypeMonotonicCounter
	case estats.MetricTypeIntUpDownCount:
		typ = otlptranslator.MetricTypeNonMonotonicCounter
	case estats.MetricTypeIntHisto, estats.MetricTypeFloatHisto:
		typ = otlptranslator.MetricTypeHistogram
	case estats.MetricTypeIntGauge, estats.MetricTypeIntAsyncGauge:
		typ = otlptranslator.MetricTypeGauge
	default:
		return "", fmt.Errorf("metric %q has type %d, which this recorder does not know", d.Name, d.Type)
	}
	namer := otlptranslator.NewMetricNamer("", otlptranslator.UnderscoreEscapingWithSuffixes)
	return namer.Build(otlptranslator.Metric{Name: d.Name, Unit: d.Unit, Type: typ})
}

// labelName returns the label name the exporter writes for an attribute
// key: grpc.target becomes grpc_target.
func labelName(key string) (string, error) {
	var namer otlptranslator.LabelNamer
	return namer.Build(key)
}
