package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/grpcmetrics/grpcmetrics/methodmap"
	"github.com/grpcmetrics/grpcmetrics/monitoring/mixin"
	"github.com/grpcmetrics/grpcmetrics/registry"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "grpcmetrics-gen:", err)
		}
		os.Exit(2)
	}
}

// run parses args and writes the files they ask for, naming each on out.
func run(args []string, out, errOut io.Writer) error {
	fs := flag.NewFlagSet("grpcmetrics-gen", flag.ContinueOnError)
	fs.SetOutput(errOut)
	dir := fs.String("out", ".", "directory to write dashboards/ and rules/ under")
	flavour := fs.String("flavour", "all", "flavour to write: milvus, generic, milvus26, a66 or all")
	objective := fs.Float64("objective", 0.999, "availability objective of the burn-rate alerts")
	errorRatio := fs.Float64("error-ratio", 0.05, "per-method error ratio above which an alert fires")
	milvusJob := fs.String("milvus-job", "", "job label the milvus rules select (empty: every job, by metric name)")
	genericJob := fs.String("generic-job", "", "job label the generic rules select (empty: every job, by metric name)")
	milvus26Job := fs.String("milvus26-job", "", "job label the milvus26 rules select (empty: every job, by metric name)")
	a66Job := fs.String("a66-job", "", "job label the a66 rules select (empty: every job, by metric name)")
	replicaLabels := fs.String("replica-label", "",
		"labels, separated by commas, that tell apart the replicas of a highly available pair of Prometheus servers or agents writing to one store (their external labels, such as replica): the rules count each instance once, the largest of the replicas' rates")
	milvus26Line := fs.String("milvus26-line", "",
		"release line of the servers' Milvus 2.6 set (interceptor.WithLine) for -flavour milvus26: v2.6.16 (the default), v2.6.20 or v2.6.21; "+
			"the lines with the cause label write dashboards/milvus26-<line>.json and rules/milvus26-<line>.rules.yml, with the failures by cause, "+
			"which replace milvus26.json and milvus26.rules.yml (load one rule file of the two)")
	latency := fs.Bool("latency", true, "add the latency panels")
	contextLabels := fs.String("context-label", "",
		"context labels of the servers' provider or A66 families (interceptor.WithContextLabels), separated by commas, such as tenant: the generic and a66 dashboards gain request rate and error ratio panels by each")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	var variants []mixin.Config
	switch *flavour {
	case "all":
		if *milvus26Line != "" {
			return errors.New("-milvus26-line: give -flavour milvus26 too; -flavour all writes every line's files that are checked in")
		}
		variants = mixin.Variants()
	case string(mixin.Milvus), string(mixin.Generic), string(mixin.Milvus26), string(mixin.A66):
		c := mixin.DefaultConfig(mixin.Flavour(*flavour))
		c.Milvus26Line = *milvus26Line
		variants = []mixin.Config{c}
	default:
		return fmt.Errorf("-flavour %q: want milvus, generic, milvus26, a66 or all", *flavour)
	}
	for _, v := range variants {
		f, c := v.Flavour, v
		c.Objective, c.ErrorRatio, c.Latency = *objective, *errorRatio, *latency
		c.Job = *genericJob
		if *replicaLabels != "" {
			c.ReplicaLabels = strings.Split(*replicaLabels, ",")
		}
		if (f == mixin.Generic || f == mixin.A66) && *contextLabels != "" {
			c.ContextLabels = strings.Split(*contextLabels, ",")
		}
		if f == mixin.Milvus26 {
			c.Job = *milvus26Job
		}
		if f == mixin.A66 {
			c.Job = *a66Job
		}
		if f == mixin.Milvus {
			c.Job = *milvusJob
			routes, err := milvusRoutes()
			if err != nil {
				return err
			}
			c.Routes = routes
		}
		files, err := mixin.Generate(c)
		if err != nil {
			return err
		}
		for _, file := range files {
			path := filepath.Join(*dir, file.Path)
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				return err
			}
			if err := os.WriteFile(path, file.Data, 0o644); err != nil {
				return err
			}
			fmt.Fprintln(out, "wrote", path)
		}
	}
	return nil
}

// milvusRoutes describes the default Milvus table, built on metrics of its
// own, registered on a registry of their own (methodmap.Default refuses
// counters that were never registered).
func milvusRoutes() ([]mixin.Route, error) {
	metrics := registry.New()
	if err := metrics.Register(prometheus.NewRegistry()); err != nil {
		return nil, err
	}
	m, err := methodmap.Default(metrics)
	if err != nil {
		return nil, err
	}
	return mixin.MilvusRoutes(m)
}
