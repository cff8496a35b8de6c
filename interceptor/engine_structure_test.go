package interceptor

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRecoverOnlyInLifecycles checks where the package's code calls
// recover: in the lifecycle of each kind of call (unary on the server,
// for the status rule, which every set shares, and unary on the client),
// where a set's own rule runs (identifyMilvus and identifyMilvus26, the
// sets' rules that name a call's series, and classify, the Milvus
// counters' classifier), so that such a panic changes that set's count
// alone; in latency.exemplarValue, which guards the user's exemplar
// function (the lifecycle's end runs it, also from the deferred
// function), and ctxTuples.keyWith, which guards the user's context
// labels function; and Milvus26.abandonSeries, which guards a request's
// getters when a handler counts an abandoned request, outside any
// lifecycle. The metric sets have none else.
func TestRecoverOnlyInLifecycles(t *testing.T) {
	want := map[string]int{
		"(*serverEngine).unary":            1,
		"(*serverEngine).identifyMilvus":   1,
		"(*serverEngine).identifyMilvus26": 1,
		"(*serverEngine).classify":         1,
		"(*clientFront).unary":             1,
		"(*latency).exemplarValue":         1,
		"(*ctxTuples).keyWith":             1,
		"(*Milvus26).abandonSeries":        1,
	}
	got := map[string]int{}
	files, err := filepath.Glob("*.go")
	require.NoError(t, err)
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := os.ReadFile(name)
		require.NoError(t, err)
		f, err := parser.ParseFile(fset, name, src, 0)
		require.NoError(t, err)
		for _, d := range f.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || fn.Body == nil {
				continue
			}
			ast.Inspect(fn.Body, func(n ast.Node) bool {
				if call, ok := n.(*ast.CallExpr); ok {
					if id, ok := call.Fun.(*ast.Ident); ok && id.Name == "recover" {
						got[enFuncName(fn)]++
					}
				}
				return true
			})
		}
	}
	assert.Equal(t, want, got)
}

func enFuncName(fn *ast.FuncDecl) string {
	if fn.Recv == nil || len(fn.Recv.List) == 0 {
		return fn.Name.Name
	}
	recv := fn.Recv.List[0].Type
	if star, ok := recv.(*ast.StarExpr); ok {
		if id, ok := star.X.(*ast.Ident); ok {
			return "(*" + id.Name + ")." + fn.Name.Name
		}
	}
	if id, ok := recv.(*ast.Ident); ok {
		return id.Name + "." + fn.Name.Name
	}
	return fn.Name.Name
}
