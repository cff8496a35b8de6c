package grpcmetrics_test

import (
	"flag"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The documentation's own tests: every Go snippet is a compiled function or
// file of the repository, every relative link resolves, and no word of the
// project's history reaches a user.
//
// A Go code block in a markdown file must follow a marker line naming its
// source, a path relative to the repository root:
//
//	<!-- snippet: example_docs_test.go Example_client -->   the function's body, one tab less
//	<!-- snippet: interceptor/x_test.go Example_y decl -->  the whole function, doc comment excluded
//	<!-- snippet: examples/wiring/main.go -->               the whole file
//
// The block must equal what the marker names, byte for byte.

// docFiles are the markdown files users read, relative to the repository root.
func docFiles(t *testing.T) []string {
	t.Helper()
	files := []string{"README.md", "BENCHMARKS.md", "CHANGELOG.md"}
	more, err := filepath.Glob("docs/*.md")
	require.NoError(t, err)
	return append(files, more...)
}

// docBlock is a fenced code block of a markdown file.
type docBlock struct {
	line   int    // of the opening fence, from 1
	lang   string // the info string after the fence
	marker string // the snippet marker's argument on the line before, if any
	text   string // the block's lines, each ending in "\n"
	end    int    // the line of the closing fence, from 1
	indent string // of the fence, and taken off each line of text
}

var docMarker = regexp.MustCompile(`^<!-- snippet: (.+?) -->$`)

// docLine is a line of a markdown file outside its code blocks.
type docLine struct {
	n    int // from 1
	text string
}

// docParse returns a markdown file's fenced code blocks and its lines outside
// them.
func docParse(t *testing.T, md string) (blocks []docBlock, prose []docLine) {
	t.Helper()
	lines := strings.Split(md, "\n")
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		// A fence may be indented, inside a list item; its lines keep
		// their indentation.
		indent := l[:len(l)-len(strings.TrimLeft(l, " "))]
		if !strings.HasPrefix(l[len(indent):], "```") {
			prose = append(prose, docLine{i + 1, l})
			continue
		}
		b := docBlock{line: i + 1, lang: strings.TrimPrefix(l[len(indent):], "```"), indent: indent}
		if i > 0 {
			if m := docMarker.FindStringSubmatch(strings.TrimSpace(lines[i-1])); m != nil {
				b.marker = m[1]
			}
		}
		var text strings.Builder
		for i++; i < len(lines) && lines[i] != indent+"```"; i++ {
			text.WriteString(strings.TrimPrefix(lines[i], indent) + "\n")
		}
		require.Less(t, i, len(lines), "code block at line %d is not closed", b.line)
		b.text = text.String()
		b.end = i + 1
		blocks = append(blocks, b)
	}
	return blocks, prose
}

// docSnippet returns what a snippet marker names.
func docSnippet(marker string) (string, error) {
	fields := strings.Fields(marker)
	if len(fields) == 0 || len(fields) > 3 || (len(fields) == 3 && fields[2] != "decl") {
		return "", fmt.Errorf("marker %q: want \"path [Func [decl]]\"", marker)
	}
	src, err := os.ReadFile(filepath.FromSlash(fields[0]))
	if err != nil {
		return "", err
	}
	if len(fields) == 1 {
		return string(src), nil
	}
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, fields[0], src, parser.ParseComments)
	if err != nil {
		return "", err
	}
	for _, d := range f.Decls {
		fn, ok := d.(*ast.FuncDecl)
		if !ok || fn.Recv != nil || fn.Name.Name != fields[1] {
			continue
		}
		off := func(p token.Pos) int { return fset.Position(p).Offset }
		if len(fields) == 3 {
			return string(src[off(fn.Pos()):off(fn.End())]) + "\n", nil
		}
		var b strings.Builder
		for _, l := range strings.Split(string(src[off(fn.Body.Lbrace)+1:off(fn.Body.Rbrace)]), "\n") {
			if strings.HasPrefix(strings.TrimSpace(l), "// Output:") {
				break // an Example's expected output is not part of the snippet
			}
			if strings.TrimSpace(l) == "" && b.Len() == 0 {
				continue
			}
			b.WriteString(strings.TrimPrefix(l, "\t") + "\n")
		}
		return strings.TrimRight(b.String(), "\n") + "\n", nil
	}
	return "", fmt.Errorf("marker %q: %s has no function %s", marker, fields[0], fields[1])
}

var docUpdate = flag.Bool("update-docs", false, "rewrite the Go blocks of the documentation from their sources")

// TestDocSnippets checks that every Go block of the documentation is a
// compiled function or file of the repository, as it is today. After
// changing a source, go test -run TestDocSnippets -update-docs . copies it
// into the documentation.
func TestDocSnippets(t *testing.T) {
	for _, file := range docFiles(t) {
		t.Run(file, func(t *testing.T) {
			md, err := os.ReadFile(file)
			require.NoError(t, err)
			blocks, _ := docParse(t, string(md))
			if *docUpdate {
				lines := strings.Split(string(md), "\n")
				for i := len(blocks) - 1; i >= 0; i-- {
					b := blocks[i]
					if b.marker == "" {
						continue
					}
					want, err := docSnippet(b.marker)
					require.NoError(t, err, "%s:%d", file, b.line)
					repl := strings.Split(strings.TrimSuffix(want, "\n"), "\n")
					for j, r := range repl {
						if r != "" {
							repl[j] = b.indent + r
						}
					}
					lines = append(lines[:b.line], append(repl, lines[b.end-1:]...)...)
				}
				require.NoError(t, os.WriteFile(file, []byte(strings.Join(lines, "\n")), 0o644))
				md = []byte(strings.Join(lines, "\n"))
				blocks, _ = docParse(t, string(md))
			}
			for _, b := range blocks {
				if b.lang != "go" {
					assert.Empty(t, b.marker, "%s:%d: a snippet marker before a %q block", file, b.line, b.lang)
					continue
				}
				if !assert.NotEmpty(t, b.marker, "%s:%d: a go block without a <!-- snippet: path Func --> marker on the line before", file, b.line) {
					continue
				}
				want, err := docSnippet(b.marker)
				if assert.NoError(t, err, "%s:%d", file, b.line) {
					assert.Equal(t, want, b.text, "%s:%d: the block differs from %s; go test -run TestDocSnippets -update-docs . copies it", file, b.line, b.marker)
				}
			}
		})
	}
}

// docLink finds inline markdown links and images: [text](target "title").
var docLink = regexp.MustCompile(`\]\(([^)\s]+)(?:\s+"[^"]*")?\)`)

// docInlineCode finds code spans, which hold no links.
var docInlineCode = regexp.MustCompile("`[^`]*`")

// docAnchor is GitHub's anchor for a heading's text: lower case, every
// character other than a letter, digit, space, hyphen or underscore
// dropped, and spaces turned into hyphens.
func docAnchor(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(heading) {
		switch {
		case r == ' ':
			b.WriteByte('-')
		case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(r)
		}
	}
	return b.String()
}

// docAnchors returns the anchors of a markdown file's headings, with
// GitHub's "-1", "-2" suffixes for repeated ones.
func docAnchors(t *testing.T, md string) map[string]bool {
	t.Helper()
	_, prose := docParse(t, md)
	anchors := map[string]bool{}
	seen := map[string]int{}
	for _, pl := range prose {
		l := pl.text
		h := strings.TrimLeft(l, "#")
		if len(h) == len(l) || len(l)-len(h) > 6 || !strings.HasPrefix(h, " ") {
			continue
		}
		a := docAnchor(strings.TrimSpace(h))
		if n := seen[a]; n > 0 {
			anchors[fmt.Sprintf("%s-%d", a, n)] = true
		} else {
			anchors[a] = true
		}
		seen[a]++
	}
	return anchors
}

// TestDocLinks checks that every relative link of the documentation names a
// file or directory of the repository, and a heading of the file it names,
// if it names one.
func TestDocLinks(t *testing.T) {
	for _, file := range docFiles(t) {
		t.Run(file, func(t *testing.T) {
			md, err := os.ReadFile(file)
			require.NoError(t, err)
			_, prose := docParse(t, string(md))
			for _, l := range prose {
				for _, m := range docLink.FindAllStringSubmatch(docInlineCode.ReplaceAllString(l.text, ""), -1) {
					target := m[1]
					if u, err := url.Parse(target); err != nil || u.Scheme != "" {
						assert.NoError(t, err, "%s:%d: link %q", file, l.n, target)
						continue // an absolute URL: not checked here
					}
					path, frag, _ := strings.Cut(target, "#")
					resolved := file
					if path != "" {
						resolved = filepath.Join(filepath.Dir(file), filepath.FromSlash(path))
					}
					st, err := os.Stat(resolved)
					if !assert.NoError(t, err, "%s:%d: link %q names no file", file, l.n, target) || frag == "" {
						continue
					}
					if !assert.False(t, st.IsDir(), "%s:%d: link %q has a fragment but names a directory", file, l.n, target) {
						continue
					}
					dest, err := os.ReadFile(resolved)
					require.NoError(t, err)
					assert.True(t, docAnchors(t, string(dest))[frag],
						"%s:%d: link %q names no heading of %s", file, l.n, target, resolved)
				}
			}
		})
	}
}

// docHistory finds words that only the project's own history explains:
// "seed", issue numbers and commit hashes (7 to 40 hexadecimal characters,
// at least one of them a digit; Go pseudo-versions are left out).
var docHistory = regexp.MustCompile(`(?i)\bseed\b|\bissues? [0-9]|#[0-9]+\b|\b[0-9a-f]{7,40}\b`)

var docHex = regexp.MustCompile(`^[0-9a-fA-F]+$`)

// docPseudoVersion is a Go pseudo-version, whose parts look like hashes.
var docPseudoVersion = regexp.MustCompile(`v[0-9]+\.[0-9]+\.[0-9]+-(?:0\.)?[0-9]{14}-[0-9a-f]{12}`)

// docHistoryWords returns the words of text that only the project's history
// explains.
func docHistoryWords(text string) []string {
	var found []string
	for _, w := range docHistory.FindAllString(docPseudoVersion.ReplaceAllString(text, ""), -1) {
		if docHex.MatchString(w) && !strings.ContainsAny(w, "0123456789") {
			continue // an English word, not a hash
		}
		found = append(found, w)
	}
	return found
}

// TestDocsSayNoHistory keeps the project's history out of the documentation
// users read.
func TestDocsSayNoHistory(t *testing.T) {
	for _, file := range docFiles(t) {
		md, err := os.ReadFile(file)
		require.NoError(t, err)
		for i, l := range strings.Split(string(md), "\n") {
			for _, w := range docHistoryWords(l) {
				assert.Fail(t, "history in user documentation", "%s:%d: %q in %q", file, i+1, w, l)
			}
		}
	}
}

// TestGodocSaysNoHistory does the same for the comments of every Go file
// that is not a test, in every module of the repository.
func TestGodocSaysNoHistory(t *testing.T) {
	fset := token.NewFileSet()
	err := filepath.WalkDir(".", func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ParseComments|parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		for _, cg := range f.Comments {
			for _, c := range cg.List {
				for _, w := range docHistoryWords(c.Text) {
					assert.Fail(t, "history in a comment", "%s: %q in %q", fset.Position(c.Pos()), w, c.Text)
				}
			}
		}
		return nil
	})
	require.NoError(t, err)
}

// TestReadmeIsAnIndex keeps README.md short: at most 200 lines, and Go
// snippets of at most 25 lines; the rest belongs in docs/ and godoc.
func TestReadmeIsAnIndex(t *testing.T) {
	md, err := os.ReadFile("README.md")
	require.NoError(t, err)
	assert.LessOrEqual(t, strings.Count(string(md), "\n"), 200, "README.md lines")
	blocks, _ := docParse(t, string(md))
	for _, b := range blocks {
		if b.lang == "go" {
			assert.LessOrEqual(t, strings.Count(b.text, "\n"), 25, "README.md:%d: lines of a Go snippet", b.line)
		}
	}
}
