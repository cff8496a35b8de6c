package strtab

import (
	"fmt"
	"strings"
	"testing"
)

func TestTable(t *testing.T) {
	keys := []string{
		"/milvus.proto.rootcoord.RootCoord/CreateCollection",
		"/milvus.proto.milvus.MilvusService/CreateCollection",
		"/milvus.proto.rootcoord.RootCoord/DescribeCollection",
		"/a/b", "", "x", "1234567", "12345678", "123456789",
	}
	vals := make([]int, len(keys))
	for i := range vals {
		vals[i] = i + 1
	}
	tab := New(keys, vals)
	for i, k := range keys {
		t.Run(fmt.Sprintf("hit/%q", k), func(t *testing.T) {
			v, ok := tab.Get(k)
			if !ok || v != i+1 {
				t.Fatalf("Get(%q) = %d, %v; want %d, true", k, v, ok, i+1)
			}
		})
	}
	for _, k := range []string{
		"/milvus.proto.rootcoord.RootCoord/CreateCollectio",
		"/milvus.proto.rootcoord.RootCoord/CreateCollectionX",
		"/milvus.proto.rootcoord.RootCoord/CreateCollectioN",
		"/a/c", "y", "12345679", strings.Repeat("\xff", 1000),
	} {
		t.Run(fmt.Sprintf("miss/%q", k), func(t *testing.T) {
			if v, ok := tab.Get(k); ok {
				t.Fatalf("Get(%q) = %d, true; want a miss", k, v)
			}
		})
	}
}

func TestTableEmpty(t *testing.T) {
	for name, tab := range map[string]*Table[int]{"zero": {}, "New": New[int](nil, nil)} {
		t.Run(name, func(t *testing.T) {
			if _, ok := tab.Get("/a/b"); ok {
				t.Fatal("empty table has a key")
			}
		})
	}
}

func TestTableLaterValueWins(t *testing.T) {
	tab := New([]string{"k", "k"}, []int{1, 2})
	if v, _ := tab.Get("k"); v != 2 {
		t.Fatalf("Get(k) = %d, want 2", v)
	}
}

// TestTableAgreesWithMap checks many keys that share long prefixes and
// suffixes, the worst case for a hash of two words.
func TestTableAgreesWithMap(t *testing.T) {
	want := map[string]int{}
	var keys []string
	var vals []int
	for i := range 2000 {
		k := fmt.Sprintf("/svc.S%d/Method%d", i%7, i/7)
		if i%3 == 0 {
			k = fmt.Sprintf("/svc.Service%d/SameSuffix", i)
		}
		want[k] = i
		keys = append(keys, k)
		vals = append(vals, i)
	}
	tab := New(keys, vals)
	for k, v := range want {
		if got, ok := tab.Get(k); !ok || got != v {
			t.Fatalf("Get(%q) = %d, %v; want %d", k, got, ok, v)
		}
		if _, ok := tab.Get(k + "!"); ok {
			t.Fatalf("Get(%q) hit", k+"!")
		}
	}
}

func TestGetDoesNotAllocate(t *testing.T) {
	tab := New([]string{"/milvus.proto.rootcoord.RootCoord/DescribeCollection"}, []int{1})
	if n := testing.AllocsPerRun(100, func() {
		tab.Get("/milvus.proto.rootcoord.RootCoord/DescribeCollection")
		tab.Get("/milvus.proto.query.QueryCoord/ShowCollections")
	}); n != 0 {
		t.Fatalf("Get allocates %v times", n)
	}
}

// TestAlias checks the pointer fast path: a string equal to a key but stored
// elsewhere matches, costs one allocation the first time (the alias), and
// none after; other equal strings still match by comparing bytes.
func TestAlias(t *testing.T) {
	const key = "/milvus.proto.rootcoord.RootCoord/DescribeCollection"
	tab := New([]string{strings.Clone(key)}, []int{7})
	first, second := strings.Clone(key), strings.Clone(key)
	if n := testing.AllocsPerRun(1, func() { tab.Get(first) }); n > 1 {
		t.Fatalf("first Get allocates %v times, want at most 1", n)
	}
	for name, probe := range map[string]string{"alias": first, "other copy": second, "constant": key} {
		t.Run(name, func(t *testing.T) {
			if n := testing.AllocsPerRun(100, func() {
				if v, ok := tab.Get(probe); !ok || v != 7 {
					t.Fatalf("Get = %d, %v", v, ok)
				}
			}); n != 0 {
				t.Fatalf("Get allocates %v times", n)
			}
		})
	}
	if _, ok := tab.Get(key[:len(key)-1]); ok {
		t.Fatal("a prefix of the alias matched")
	}
}

// TestAliasBound checks that callers bringing a new copy of the key on every
// call stop costing allocations after maxAliases calls, and that Peek never
// allocates.
func TestAliasBound(t *testing.T) {
	const key = "/milvus.proto.rootcoord.RootCoord/DescribeCollection"
	tab := New([]string{strings.Clone(key)}, []int{7})
	copies := make([]string, 4*maxAliases)
	for i := range copies {
		copies[i] = strings.Clone(key)
	}
	if n := testing.AllocsPerRun(1, func() {
		for _, c := range copies {
			if _, ok := tab.Peek(c); !ok {
				t.Fatal("Peek missed")
			}
		}
	}); n != 0 {
		t.Fatalf("Peek allocates %v times", n)
	}
	allocs := 0
	for _, c := range copies {
		allocs += int(testing.AllocsPerRun(1, func() { tab.Get(c) }))
	}
	// AllocsPerRun runs f twice (a warm-up, then the measured run), so each
	// copy can allocate at most once, in the warm-up.
	if allocs != 0 {
		t.Fatalf("Get allocated %d times in measured runs, want 0", allocs)
	}
	if got := tab.slots[tab.find(key)].aliases.Load(); got != maxAliases {
		t.Fatalf("slot learned %d aliases, want the bound %d", got, maxAliases)
	}
}

func (t *Table[V]) find(key string) uint64 {
	mask := uint64(len(t.slots) - 1)
	for i := hash(key) >> t.shift; ; i = (i + 1) & mask {
		if t.slots[i].key == key {
			return i
		}
	}
}

func FuzzGet(f *testing.F) {
	keys := []string{"/milvus.proto.rootcoord.RootCoord/CreateCollection", "/a/b", "", "short"}
	tab := New(keys, []int{0, 1, 2, 3})
	for _, k := range keys {
		f.Add(k)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, ok := tab.Get(s)
		if pv, pok := tab.Peek(s); pv != v || pok != ok {
			t.Fatalf("Peek(%q) = %d, %v; Get = %d, %v", s, pv, pok, v, ok)
		}
		wantIx := -1
		for i, k := range keys {
			if k == s {
				wantIx = i
			}
		}
		if ok != (wantIx >= 0) || (ok && v != wantIx) {
			t.Fatalf("Get(%q) = %d, %v; want index %d", s, v, ok, wantIx)
		}
	})
}

var sink int

func BenchmarkGet(b *testing.B) {
	const key = "/milvus.proto.rootcoord.RootCoord/DescribeCollection"
	var keys []string
	for _, svc := range []string{"milvus.proto.rootcoord.RootCoord", "milvus.proto.milvus.MilvusService"} {
		for i := range 25 {
			keys = append(keys, fmt.Sprintf("/%s/Method%d", svc, i))
		}
	}
	keys = append(keys, key)
	vals := make([]int, len(keys))
	m := map[string]int{}
	for i, k := range keys {
		vals[i] = i
		m[k] = i
	}
	tab := New(keys, vals)
	probe := strings.Clone(key) // not the same pointer as the stored key
	b.Run("strtab", func(b *testing.B) {
		for b.Loop() {
			v, _ := tab.Get(probe)
			sink += v
		}
	})
	// fresh: every call brings an equal string at a new address, so the
	// alias never matches and the bytes are compared.
	fresh := make([]string, 64)
	for i := range fresh {
		fresh[i] = strings.Clone(key)
	}
	b.Run("strtab-fresh-strings", func(b *testing.B) {
		i := 0
		for b.Loop() {
			v, _ := tab.Get(fresh[i&63])
			sink += v
			i++
		}
	})
	b.Run("map", func(b *testing.B) {
		for b.Loop() {
			sink += m[probe]
		}
	})
}
