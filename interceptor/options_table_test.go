package interceptor_test

import (
	"context"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"google.golang.org/grpc"

	"github.com/grpcmetrics/grpcmetrics/interceptor"
	"github.com/grpcmetrics/grpcmetrics/methodmap"
	"github.com/grpcmetrics/grpcmetrics/registry"
)

// otOption is an option of the table in options.go's godoc: the function
// that makes it (its result type says which constructors it compiles
// for), and the options it needs beside it.
type otOption struct {
	fn    any
	args  []any
	needs []string // rows given first, where the constructor takes them
}

// otOptions are the rows of the table, by option name.
var otOptions = map[string]otOption{
	"WithStatus":          {fn: interceptor.WithStatus, args: []any{interceptor.StatusFunc(func(any) bool { return false })}},
	"WithLogger":          {fn: interceptor.WithLogger, args: []any{zap.NewNop()}},
	"WithHistogram":       {fn: interceptor.WithHistogram, args: []any{interceptor.Histogram{}}},
	"WithCodeOnHistogram": {fn: interceptor.WithCodeOnHistogram, needs: []string{"WithHistogram"}},
	"WithClientID": {fn: interceptor.WithClientID, args: []any{interceptor.ClientIDFunc(func(context.Context, any) interceptor.ClientID {
		return interceptor.Label("a")
	})}},
	"WithClientLimit": {fn: interceptor.WithClientLimit, args: []any{8}},
	"WithOutcome": {fn: interceptor.WithOutcome, args: []any{"/milvus.proto.milvus.MilvusService/DescribeIndex",
		interceptor.Classifier(func(any, error) interceptor.Outcome { return interceptor.Default })}},
	"WithInitialSeries":   {fn: interceptor.WithInitialSeries},
	"WithNodeID":          {fn: interceptor.WithNodeID, args: []any{int64(1)}},
	"WithCollectionLimit": {fn: interceptor.WithCollectionLimit, args: []any{8}},
	"WithReqLatency":      {fn: interceptor.WithReqLatency},
	"WithRootCoordDDL":    {fn: interceptor.WithRootCoordDDL},
	"WithLine":            {fn: interceptor.WithLine, args: []any{interceptor.MilvusV2621}},
	"WithGRPCLatency":     {fn: interceptor.WithGRPCLatency},
	"WithInFlight":        {fn: interceptor.WithInFlight},
	"WithContextLabels": {fn: interceptor.WithContextLabels, args: []any{interceptor.ContextLabels{
		Names: []string{"tenant"}, Values: func(context.Context) []string { return []string{"a"} }, Limit: 2,
	}}},
	"WithClientServices": {fn: interceptor.WithClientServices, args: []any{[]*grpc.ServiceDesc{{ServiceName: "a.B"}}}},
	"WithGRPCMetrics":    {fn: interceptor.WithGRPCMetrics, args: []any{interceptor.GRPCMetrics{Metrics: axSubchannelMetrics()}}},
}

// otOptionFuncs returns the names of the package's exported functions
// that make an option: every func With… of its non-test files.
func otOptionFuncs(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("*.go")
	require.NoError(t, err)
	var names []string
	fset := token.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, parser.SkipObjectResolution)
		require.NoError(t, err)
		for _, d := range file.Decls {
			if fn, ok := d.(*ast.FuncDecl); ok && fn.Recv == nil && fn.Name.IsExported() && strings.HasPrefix(fn.Name.Name, "With") {
				names = append(names, fn.Name.Name)
			}
		}
	}
	return names
}

// otConstructor is a column of the table: a constructor, as a function
// of its options.
type otConstructor struct {
	fn   any // the constructor, whose last parameter is its options
	call func(t *testing.T, opts []reflect.Value) error
}

// otConstructors are the columns of the table, by name.
func otConstructors(t *testing.T) map[string]otConstructor {
	m := registry.New()
	require.NoError(t, m.Register(prometheus.NewRegistry()))
	table, err := methodmap.Default(m)
	require.NoError(t, err)
	plain := func(fn any) otConstructor {
		return otConstructor{fn: fn, call: func(_ *testing.T, opts []reflect.Value) error {
			out := reflect.ValueOf(fn).Call(opts)
			err, _ := out[len(out)-1].Interface().(error) //nolint:errcheck // nil when there is none
			return err
		}}
	}
	return map[string]otConstructor{
		"New": {fn: interceptor.New, call: func(_ *testing.T, opts []reflect.Value) error {
			out := reflect.ValueOf(interceptor.New).Call(append([]reflect.Value{reflect.ValueOf(table)}, opts...))
			err, _ := out[1].Interface().(error) //nolint:errcheck // nil when there is none
			return err
		}},
		"NewServerMetrics": plain(interceptor.NewServerMetrics),
		"NewClientMetrics": plain(interceptor.NewClientMetrics),
		"NewMilvus26":      plain(interceptor.NewMilvus26),
		"NewA66":           plain(interceptor.NewA66),
		"NewServer": {fn: interceptor.NewServer, call: func(t *testing.T, opts []reflect.Value) error {
			sm, err := interceptor.NewServerMetrics()
			require.NoError(t, err)
			out := reflect.ValueOf(interceptor.NewServer).Call(append([]reflect.Value{reflect.ValueOf(interceptor.ServerSets{Provider: sm})}, opts...))
			err, _ = out[1].Interface().(error) //nolint:errcheck // nil when there is none
			return err
		}},
	}
}

// otTable reads the table of options.go's godoc: the constructors of its
// heading and, by option, the cell of each.
func otTable(t *testing.T) (columns []string, cells map[string][]string) {
	t.Helper()
	data, err := os.ReadFile("options.go")
	require.NoError(t, err)
	cells = map[string][]string{}
	for line := range strings.SplitSeq(string(data), "\n") {
		fields := strings.Fields(strings.TrimPrefix(line, "//"))
		if !strings.HasPrefix(line, "//\t") || len(fields) < 2 {
			continue
		}
		if fields[0] == "option" {
			columns = fields[1:]
			continue
		}
		if columns != nil && strings.HasPrefix(fields[0], "With") {
			require.Len(t, fields, len(columns)+1, "the row of %s", fields[0])
			cells[fields[0]] = fields[1:]
		}
	}
	require.NotEmpty(t, columns, "options.go's godoc has no table")
	return columns, cells
}

// TestOptionsTable checks every cell of the table in options.go's godoc
// against the code: "yes", the constructor takes the option (it compiles,
// and the constructor returns no error); "error", it compiles but the
// constructor refuses it with an error; "-", it does not compile (the
// option's type is not the constructor's). Every option and every
// constructor of the package has its row and its column.
func TestOptionsTable(t *testing.T) {
	columns, cells := otTable(t)
	constructors := otConstructors(t)
	assert.ElementsMatch(t, mapsKeys(constructors), columns, "the table's constructors")
	assert.ElementsMatch(t, otOptionFuncs(t), mapsKeys(cells), "the table's options: every With… of the package")
	assert.ElementsMatch(t, mapsKeys(otOptions), mapsKeys(cells), "the options this test knows")
	for name, row := range cells {
		opt, ok := otOptions[name]
		if !ok {
			continue
		}
		for i, col := range columns {
			c, ok := constructors[col]
			if !ok {
				continue
			}
			t.Run(name+"/"+col, func(t *testing.T) {
				fnType := reflect.TypeOf(c.fn)
				optType := fnType.In(fnType.NumIn() - 1).Elem()
				compiles := reflect.TypeOf(opt.fn).Out(0).Implements(optType)
				if row[i] == "-" {
					assert.False(t, compiles, "%s(%s) compiles", col, name)
					return
				}
				require.True(t, compiles, "%s(%s) does not compile", col, name)
				var opts []reflect.Value
				for _, need := range opt.needs {
					if needed := cells[need]; needed != nil && needed[i] == "yes" {
						opts = append(opts, otValue(otOptions[need], optType))
					}
				}
				err := c.call(t, append(opts, otValue(opt, optType)))
				switch row[i] {
				case "yes":
					assert.NoError(t, err)
				case "error":
					assert.Error(t, err)
				default:
					t.Errorf("cell %q: want yes, error or -", row[i])
				}
			})
		}
	}
}

// otValue makes o, as a value of the constructor's option type.
func otValue(o otOption, optType reflect.Type) reflect.Value {
	fn := reflect.ValueOf(o.fn)
	var args []reflect.Value
	for _, a := range o.args {
		args = append(args, reflect.ValueOf(a))
	}
	var out []reflect.Value
	if fn.Type().IsVariadic() {
		out = fn.CallSlice(args)
	} else {
		out = fn.Call(args)
	}
	return out[0].Convert(optType)
}

func mapsKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	return keys
}
