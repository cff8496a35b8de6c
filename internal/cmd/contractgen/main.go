// Command contractgen writes the label contract of grpcmetrics' metric sets,
// internal/contract/contract.json, from the families that each set writes
// when driven across its outcomes and the label domains declared in package
// contract. Run it from the module's root after a change to a set:
//
//	go run ./internal/cmd/contractgen
//
// With -check it writes nothing and fails when the file differs from what
// it would write, as CI runs it.
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/grpcmetrics/grpcmetrics/internal/contract"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "contractgen:", err)
		}
		os.Exit(1)
	}
}

// run parses args and writes (or, with -check, compares) the contract.
func run(args []string, out, errOut io.Writer) error {
	fs := flag.NewFlagSet("contractgen", flag.ContinueOnError)
	fs.SetOutput(errOut)
	path := fs.String("out", contract.File, "the contract file")
	check := fs.Bool("check", false, "write nothing; fail when the file is not what the generator makes")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	c, err := contract.Generate()
	if err != nil {
		return err
	}
	data, err := c.Marshal()
	if err != nil {
		return err
	}
	if *check {
		old, err := os.ReadFile(*path)
		if err != nil {
			return err
		}
		if !bytes.Equal(old, data) {
			return fmt.Errorf("%s is not what the sets write: run go run ./internal/cmd/contractgen and review the difference", *path)
		}
		fmt.Fprintln(out, *path, "is current")
		return nil
	}
	if err := os.WriteFile(*path, data, 0o644); err != nil {
		return err
	}
	fmt.Fprintln(out, "wrote", *path)
	return nil
}
