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

// Label returns the client labelled v; an empty v is the unknown client.
// A v that is not valid UTF-8 is repaired, and one longer than
// [MaxClientIDLength] bytes is cut at a rune boundary, before it becomes a
// label value.
func Label(v string) ClientID {
	if v == "" {
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
		return sanitizeLabel(c.label)
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

// sanitizeLabel repairs invalid UTF-8 and cuts label to MaxClientIDLength
// bytes at a rune boundary.
func sanitizeLabel(label string) string {
	if utf8.ValidString(label) && len(label) <= MaxClientIDLength {
		return label
	}
	label = strings.ToValidUTF8(label, "\uFFFD")
	if len(label) > MaxClientIDLength {
		cut := MaxClientIDLength
		for cut > 0 && !utf8.RuneStart(label[cut]) {
			cut--
		}
		label = label[:cut]
	}
	return label
}
