package interceptor

import (
	"context"
	"strings"
	"unicode/utf8"

	"github.com/grpcmetrics/grpcmetrics/registry"
)

// ClientID names the client of one call, the value of the client_id label
// of client-labelled counters (the RootCoord ones). The zero value is the
// unknown client, [registry.UnknownClientLabel]. Build others with
// [SourceID] or [Label]. ClientID is comparable, so it can key a map.
type ClientID struct {
	label    string
	sourceID int64
	kind     clientKind
}

type clientKind uint8

const (
	unknownClient clientKind = iota
	sourceClient
	labelClient
)

// SourceID returns the client with Milvus SourceID id, labelled
// "client_<id>" as Milvus labelled it (see [registry.ClientLabel]).
func SourceID(id int64) ClientID {
	return ClientID{sourceID: id, kind: sourceClient}
}

// Label returns the client labelled v. The label is v cut to at most
// [MaxClientIDLength] bytes at a rune boundary, with each byte that is not
// valid UTF-8 replaced by U+FFFD (the cut accounts for the replacements, so
// the result is never longer); only the first bytes of v are read. Values
// of v that give the same label are the same client: they count into the
// same series and take one place under the client limit. So are
// Label([registry.ClientLabel](n)) and [SourceID](n), though the two
// ClientID values differ. An empty v, and a v labelled
// [registry.UnknownClientLabel], is the unknown client; a v labelled
// [registry.OverflowClientLabel] counts under the overflow client, without
// being an overflow.
func Label(v string) ClientID {
	v = sanitizeLabel(v)
	if v == "" || v == registry.UnknownClientLabel {
		return ClientID{}
	}
	return ClientID{label: v, kind: labelClient}
}

// MaxClientIDLength is the longest client_id label value, in bytes, that
// [Label] produces; longer values are cut at a rune boundary.
const MaxClientIDLength = 128

// String returns the client_id label value of c.
func (c ClientID) String() string {
	switch c.kind {
	case sourceClient:
		return registry.ClientLabel(c.sourceID)
	case labelClient:
		return c.label
	}
	return registry.UnknownClientLabel
}

// ClientIDFunc returns the client of a call, from its context (peer,
// metadata, auth) or its request. It must be safe for concurrent use and
// should not allocate if the interceptor is to stay allocation-free. A
// panic in it is recovered, logged and counted: the call is labelled with
// the unknown client and counted as fail, and the handler still runs.
type ClientIDFunc func(ctx context.Context, req any) ClientID

// BaseMessage is the method set of a Milvus MsgBase message, such as the
// generated Go type of milvus.proto.common.MsgBase.
type BaseMessage interface {
	comparable
	GetSourceID() int64
}

// MilvusSourceID returns a [ClientIDFunc] that reads the client of a
// request through the caller's own MsgBase type B, with type assertions
// alone: a request with a GetBase() B method and a non-nil base is
// [SourceID](GetBase().GetSourceID()); every other request is the unknown
// client. It gives what the default rule gives for Milvus's requests, with
// no reflection:
//
//	interceptor.WithClientID(interceptor.MilvusSourceID[*commonpb.MsgBase]())
func MilvusSourceID[B BaseMessage]() ClientIDFunc {
	return func(_ context.Context, req any) ClientID {
		r, ok := req.(interface{ GetBase() B })
		if !ok {
			return ClientID{}
		}
		var zero B
		if b := r.GetBase(); b != zero {
			return SourceID(b.GetSourceID())
		}
		return ClientID{}
	}
}

// sanitizeLabel cuts label to at most MaxClientIDLength bytes at a rune
// boundary and replaces each byte that is not valid UTF-8 with U+FFFD,
// counting the replacement's 3 bytes against the limit. It reads no more
// than MaxClientIDLength bytes of label, and allocates only to repair.
func sanitizeLabel(label string) string {
	if len(label) <= MaxClientIDLength && utf8.ValidString(label) {
		return label
	}
	end, size, valid := 0, 0, true // label[:end] repairs to size bytes
	for end < len(label) {
		r, n := utf8.DecodeRuneInString(label[end:])
		w := n
		if r == utf8.RuneError && n == 1 {
			w = utf8.RuneLen(utf8.RuneError)
		}
		if size+w > MaxClientIDLength {
			break
		}
		if w != n {
			valid = false
		}
		end, size = end+n, size+w
	}
	if valid {
		return label[:end]
	}
	var b strings.Builder
	b.Grow(size)
	for _, r := range label[:end] {
		b.WriteRune(r) // an invalid byte ranges as utf8.RuneError
	}
	return b.String()
}
