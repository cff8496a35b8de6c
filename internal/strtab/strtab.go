package strtab

import (
	"math/bits"
	"sync/atomic"
	"unsafe"
)

// Table maps strings to values of type V. The zero Table is empty.
type Table[V any] struct {
	slots []slot[V] // a power of two long, at most a quarter full
	shift uint      // 64 - log2(len(slots))
}

type slot[V any] struct {
	key  string
	val  V
	used bool
	// alias is a string other than key itself that [Table.Get] matched with
	// key. A later Get with the very same string (same data pointer and
	// length) matches without comparing bytes: gRPC passes a generated
	// constant as the method name, so the same pointer comes back on every
	// call. The alias keeps its bytes alive, so the pointer cannot be reused
	// for other bytes, and Go strings are immutable. A slot changes its alias
	// at most maxAliases times, which bounds the allocations when callers
	// bring a new copy of the key each time.
	alias   atomic.Pointer[string]
	aliases atomic.Int32
}

const maxAliases = 8

// New builds a table holding vals[i] under keys[i]. A key given twice keeps
// the later value. New panics if the slices differ in length.
func New[V any](keys []string, vals []V) *Table[V] {
	if len(keys) != len(vals) {
		panic("strtab: keys and values differ in length")
	}
	size := 1 << bits.Len(uint(4*len(keys)))
	t := &Table[V]{slots: make([]slot[V], size), shift: uint(64 - bits.TrailingZeros(uint(size)))}
	mask := uint64(size - 1)
	for k, key := range keys {
		for i := hash(key) >> t.shift; ; i = (i + 1) & mask {
			s := &t.slots[i]
			if !s.used || s.key == key {
				s.key, s.val, s.used = key, vals[k], true
				break
			}
		}
	}
	return t
}

// Peek returns the value of key, or false if the table does not hold key.
// Unlike [Table.Get] it never learns an alias, so it suits one-off checks.
func (t *Table[V]) Peek(key string) (v V, ok bool) {
	if len(t.slots) == 0 {
		return v, false
	}
	mask := uint64(len(t.slots) - 1)
	for i := hash(key) >> t.shift; ; i = (i + 1) & mask {
		s := &t.slots[i]
		if !s.used {
			return v, false
		}
		if s.key == key {
			return s.val, true
		}
	}
}

// Get returns the value of key, or false if the table does not hold key. It
// is the lookup for hot paths: the first few times it matches a key with a
// string stored elsewhere than the table's copy, it remembers that string
// (one small allocation), and later calls with the same string skip the byte
// comparison.
func (t *Table[V]) Get(key string) (v V, ok bool) {
	if len(t.slots) == 0 {
		return v, false
	}
	// This is hash, written out: hash is too large for the compiler to
	// inline, and a call costs as much as the rest of the lookup. The tests
	// check that both agree.
	var h uint64
	if n := len(key); n >= 8 {
		h = load64(key[n-8:]) ^ bits.RotateLeft64(load64(key[(n-8)/2:]), 31)
		h ^= uint64(n) << 56
		h *= mul
		h ^= h >> 29
	} else {
		h = hash(key)
	}
	mask := uint64(len(t.slots) - 1)
	for i := h >> t.shift; ; i = (i + 1) & mask {
		s := &t.slots[i]
		if !s.used {
			return v, false
		}
		if a := s.alias.Load(); a != nil && unsafe.StringData(*a) == unsafe.StringData(key) && len(*a) == len(key) {
			return s.val, true
		}
		if s.key == key {
			if unsafe.StringData(s.key) != unsafe.StringData(key) && s.aliases.Load() < maxAliases {
				s.aliases.Add(1)
				alias := key // only this branch allocates
				s.alias.Store(&alias)
			}
			return s.val, true
		}
	}
}

const mul = 0x9E3779B97F4A7C15

// hash mixes the length of s with its last eight bytes and the eight bytes
// around its middle; the top bits of the result index the table.
func hash(s string) uint64 {
	n := len(s)
	var h uint64
	if n >= 8 {
		h = load64(s[n-8:]) ^ bits.RotateLeft64(load64(s[(n-8)/2:]), 31)
	} else {
		for i := 0; i < n; i++ {
			h = h<<8 | uint64(s[i])
		}
	}
	h ^= uint64(n) << 56
	h *= mul
	return h ^ h>>29
}

// load64 reads the first eight bytes of s, little-endian; the compiler
// turns it into a single load.
func load64(s string) uint64 {
	_ = s[7]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}
