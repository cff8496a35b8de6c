package methodmap

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/grpcmetrics/grpcmetrics/registry"
)

// Scheme says which labels a route's counter has and where the call label
// value ([registry.TotalLabel], [registry.SuccessLabel] or
// [registry.FailLabel]) goes.
type Scheme uint8

const (
	// StatusScheme is {status}: the call label value goes in "status". The
	// Proxy counters use it.
	StatusScheme Scheme = iota + 1
	// ClientTypeScheme is {client_id, type}: the client goes in "client_id"
	// and the call label value in "type". The RootCoord counters use it.
	ClientTypeScheme
	// TypeScheme is {type}: the call label value goes in "type". The DataNode
	// counters use it.
	TypeScheme
)

// String returns the scheme's label names, such as "{client_id, type}".
func (s Scheme) String() string {
	switch s {
	case StatusScheme, ClientTypeScheme, TypeScheme:
		return "{" + strings.Join(s.Labels(), ", ") + "}"
	}
	return fmt.Sprintf("Scheme(%d)", uint8(s))
}

// Labels returns the label names a counter of this scheme has, in order, or
// nil for an unknown scheme.
func (s Scheme) Labels() []string {
	switch s {
	case StatusScheme:
		return []string{registry.LabelStatus}
	case ClientTypeScheme:
		return []string{registry.LabelClientID, registry.LabelType}
	case TypeScheme:
		return []string{registry.LabelType}
	}
	return nil
}

// Route is one entry of a method table as the caller writes it. The routes
// of [MilvusRoutes] also remember the registry component whose counter they
// use, so that [New] can refuse counters that were never registered; a
// route the caller writes is not checked: registering its counter is the
// caller's business.
type Route struct {
	// Method is the full gRPC method name, "/package.Service/Method", as
	// grpc.UnaryServerInfo.FullMethod carries it.
	Method string
	// Counter counts the method's calls. Its labels must be exactly those of
	// Scheme.
	Counter *prometheus.CounterVec
	// Scheme says how Counter is labelled.
	Scheme Scheme

	// from is the registry component that owns Counter, for the routes
	// that MilvusRoutes returns; nil for routes the caller writes.
	from *component
}

// component is a registry component that MilvusRoutes routes calls to.
type component struct {
	name       string      // "Proxy", "RootCoord", "DataNode"
	registered func() bool // the component's Registered
}

// Entry is a validated route of a [Map], with its counter children resolved
// where they do not depend on the call.
type Entry struct {
	// Method is the full gRPC method name.
	Method string
	// Scheme is the counter's label scheme.
	Scheme Scheme
	// Counter is the route's counter vector.
	Counter *prometheus.CounterVec
	// Total, Success and Fail are the counter's children for the three call
	// label values, resolved once by [New]. They are nil for
	// [ClientTypeScheme], whose children also depend on the client.
	Total, Success, Fail prometheus.Counter
	// Index is the entry's position in [Map.Entries], from 0 to Len()-1, so
	// that users of the map can keep per-route state in a slice.
	Index int
}

// ParseMethod splits a full gRPC method name "/package.Service/Method" into
// its service ("package.Service") and method ("Method") names. The package
// may itself be dotted; every part must be a protobuf identifier (ASCII
// letters, digits and underscores, not starting with a digit).
func ParseMethod(fullMethod string) (service, method string, err error) {
	rest, ok := strings.CutPrefix(fullMethod, "/")
	if !ok {
		return "", "", fmt.Errorf("method name %s: must start with '/' (want /package.Service/Method)", quoteName(fullMethod))
	}
	service, method, ok = strings.Cut(rest, "/")
	if !ok {
		return "", "", fmt.Errorf("method name %s: no '/' between service and method (want /package.Service/Method)", quoteName(fullMethod))
	}
	if err := CheckService(service); err != nil {
		return "", "", fmt.Errorf("method name %s: %w", quoteName(fullMethod), err)
	}
	if !isIdent(method) {
		return "", "", fmt.Errorf("method name %s: method %s is not a protobuf identifier", quoteName(fullMethod), quoteName(method))
	}
	return service, method, nil
}

// CheckService reports whether name is a valid fully-qualified service name,
// "package.Service" with a package of one or more dotted identifiers.
func CheckService(name string) error {
	if name == "" {
		return errors.New("empty service name")
	}
	parts := strings.Split(name, ".")
	if len(parts) < 2 {
		return fmt.Errorf("service %s has no package (want package.Service)", quoteName(name))
	}
	for _, p := range parts {
		if !isIdent(p) {
			return fmt.Errorf("service %s: %s is not a protobuf identifier", quoteName(name), quoteName(p))
		}
	}
	return nil
}

func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '_', 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
		case '0' <= c && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// maxQuoted bounds the quoted form of a name in an error message, quotes
// included. A message quotes at most three names (a full method name, its
// service and the part at fault), so it stays well under 1000 bytes.
const maxQuoted = 200

// quoteName returns s quoted as %q would quote it, each byte escaped once,
// in at most maxQuoted bytes: a longer quoted form is cut after a whole
// escape and ends in "… followed by the length of s, "(2000 bytes)".
// Error messages stay bounded and printable for hostile input, and quoting
// reads no more of s than it shows.
func quoteName(s string) string {
	const tail = len(`"…`)
	b := make([]byte, 0, maxQuoted)
	b = append(b, '"')
	for i := 0; i < len(s); {
		_, size := utf8.DecodeRuneInString(s[i:])
		q := strconv.Quote(s[i : i+size]) // one rune, or one invalid byte as \xNN
		q = q[1 : len(q)-1]
		if len(b)+len(q)+tail > maxQuoted {
			return string(append(b, `"…`...)) + " (" + strconv.Itoa(len(s)) + " bytes)"
		}
		b = append(b, q...)
		i += size
	}
	return string(append(b, '"'))
}
