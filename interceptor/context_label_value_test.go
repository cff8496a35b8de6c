package interceptor

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// labelValueReference is what contextLabelValue must return, written the
// plain way: strings.ToValidUTF8, then a cut on a rune boundary.
func labelValueReference(v string) string {
	v = strings.ToValidUTF8(v, string(utf8.RuneError))
	if len(v) <= MaxContextLabelLength {
		return v
	}
	cut := MaxContextLabelLength
	for !utf8.RuneStart(v[cut]) {
		cut--
	}
	return v[:cut]
}

// FuzzContextLabelValue checks contextLabelValue against the reference.
func FuzzContextLabelValue(f *testing.F) {
	for _, seed := range []string{
		"", "ok", "\xff", "a\xff\xfe\xfdb", "\xffx\xc0", "\uFFFD\xff",
		strings.Repeat("é", 200), strings.Repeat("\xffA", 400), strings.Repeat("\xff", 1000) + "a",
		strings.Repeat("x", 254) + "é", strings.Repeat("x", 253) + "\xff", strings.Repeat("x", 252) + "\xff\xff",
		strings.Repeat("x", 255), strings.Repeat("x", 256), "\xe2\x82", "\xed\xa0\x80",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, v string) {
		got, want := contextLabelValue(v), labelValueReference(v)
		if got != want {
			t.Fatalf("contextLabelValue(%q) = %q, want %q", v, got, want)
		}
		if !utf8.ValidString(got) || len(got) > MaxContextLabelLength {
			t.Fatalf("contextLabelValue(%q) = %q: invalid or too long", v, got)
		}
	})
}

// TestContextLabelValueAllocatesNothing checks that a valid value, cut or
// not, costs no allocation.
func TestContextLabelValueAllocatesNothing(t *testing.T) {
	long := strings.Repeat("é", 1000)
	for _, v := range []string{"tenant-a", long} {
		var got string
		if n := testing.AllocsPerRun(100, func() { got = contextLabelValue(v) }); n != 0 {
			t.Errorf("%d bytes: %v allocations", len(v), n)
		}
		if got != labelValueReference(v) {
			t.Errorf("%d bytes: got %d bytes", len(v), len(got))
		}
	}
}
