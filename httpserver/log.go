package httpserver

import (
	"fmt"
	"log/slog"
	"strings"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"
	"go.uber.org/zap/exp/zapslog"
)

// promhttpLogger implements [promhttp.Logger] with zap. promhttp calls
// Println with a message and the error, e.g. ("error gathering metrics:",
// err); the error becomes a structured field instead of being flattened into
// the message.
type promhttpLogger struct {
	l *zap.Logger
}

var _ promhttp.Logger = promhttpLogger{}

// Println logs v at error level: the non-error values form the message, the
// errors become the "error" (or "errors") field.
func (p promhttpLogger) Println(v ...any) {
	var (
		parts []any
		errs  []error
	)
	for _, x := range v {
		if err, ok := x.(error); ok {
			errs = append(errs, err)
			continue
		}
		parts = append(parts, x)
	}
	msg := strings.TrimSuffix(fmt.Sprintln(parts...), "\n")
	switch len(errs) {
	case 0:
		p.l.Error(msg)
	case 1:
		p.l.Error(msg, zap.Error(errs[0]))
	default:
		p.l.Error(msg, zap.Errors("errors", errs))
	}
}

// slogFromZap bridges l to [log/slog] for exporter-toolkit, keeping l's
// core (and so its level, fields and output) and its name.
func slogFromZap(l *zap.Logger) *slog.Logger {
	return slog.New(zapslog.NewHandler(l.Core(), zapslog.WithName(l.Name())))
}
