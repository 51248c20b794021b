package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"os"

	"github.com/andybalholm/brotli"
)

func runSize(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fl := newFlags("size", "FILE...", stderr)
	if err := parse(fl, args); err != nil {
		return err
	}
	if fl.NArg() == 0 {
		return usagef("name at least one file")
	}
	fmt.Fprintf(stdout, "%-32s %12s %12s %12s\n", "file", "raw", "gzip -9", "brotli 11")
	for _, name := range fl.Args() {
		data, err := os.ReadFile(name)
		if err != nil {
			return usageError{err}
		}
		s := measure(data)
		fmt.Fprintf(stdout, "%-32s %12d %12d %12d\n", name, s.raw, s.gzip, s.brotli)
	}
	return nil
}

type sizes struct{ raw, gzip, brotli int }

// measure compresses data the way a CDN serves it: gzip -9 and brotli quality 11.
func measure(data []byte) sizes {
	var gz, br bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	zw.Write(data)
	zw.Close()
	bw := brotli.NewWriterLevel(&br, brotli.BestCompression)
	bw.Write(data)
	bw.Close()
	return sizes{len(data), gz.Len(), br.Len()}
}
