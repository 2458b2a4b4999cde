// Command bench-sink is the trace backend of scripts/bench-pipeline.sh: an OTLP/gRPC traces
// receiver that only counts the spans it is sent, so the benchmark can tell when a collector has
// finished forwarding (the count stops moving) and how many spans it forwarded.
//
// It listens on -listen (port 0 picks a free one), writes the bound address to -addr-file once it
// accepts connections, and rewrites -count-file (atomically, by rename) with the span count
// whenever the count has changed, at most every -interval. SIGINT or SIGTERM writes the final
// count and exits.
//
// With -free-ports N it only prints N distinct free loopback ports (one a line) and exits: the
// script's listeners for the collector under test.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	// Collectors gzip OTLP/gRPC by default; the server needs the codec registered.
	_ "google.golang.org/grpc/encoding/gzip"
)

type counter struct {
	ptraceotlp.UnimplementedGRPCServer
	spans atomic.Int64
}

func (c *counter) Export(_ context.Context, req ptraceotlp.ExportRequest) (ptraceotlp.ExportResponse, error) {
	c.spans.Add(int64(req.Traces().SpanCount()))
	return ptraceotlp.NewExportResponse(), nil
}

// writeAtomic replaces path with data so that a reader never sees a partial file.
func writeAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".bench-sink-*")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		_ = tmp.Close()
		_ = os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		_ = os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// printFreePorts holds n listeners open at once, so the ports are distinct, and prints their ports.
func printFreePorts(n int) error {
	ls := make([]net.Listener, 0, n)
	defer func() {
		for _, l := range ls {
			_ = l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		ls = append(ls, l)
		fmt.Println(l.Addr().(*net.TCPAddr).Port)
	}
	return nil
}

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "OTLP/gRPC listen address, host:port (port 0 = a free one)")
	addrFile := flag.String("addr-file", "", "write the bound host:port here once listening")
	countFile := flag.String("count-file", "", "keep the received span count in this file (required)")
	interval := flag.Duration("interval", 100*time.Millisecond, "how often the count file is refreshed")
	freePorts := flag.Int("free-ports", 0, "print this many free 127.0.0.1 ports and exit")
	flag.Parse()
	if *freePorts > 0 {
		if err := printFreePorts(*freePorts); err != nil {
			log.Fatalf("bench-sink: %v", err)
		}
		return
	}
	if *countFile == "" {
		fmt.Fprintln(os.Stderr, "bench-sink: -count-file is required")
		os.Exit(2)
	}

	lis, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatalf("bench-sink: %v", err)
	}
	c := &counter{}
	srv := grpc.NewServer(grpc.MaxRecvMsgSize(256 << 20))
	ptraceotlp.RegisterGRPCServer(srv, c)

	last := int64(-1)
	flush := func() {
		n := c.spans.Load()
		if n == last {
			return
		}
		if err := writeAtomic(*countFile, []byte(strconv.FormatInt(n, 10)+"\n")); err != nil {
			log.Fatalf("bench-sink: %v", err)
		}
		last = n
	}
	flush()
	if *addrFile != "" {
		if err := writeAtomic(*addrFile, []byte(lis.Addr().String()+"\n")); err != nil {
			log.Fatalf("bench-sink: %v", err)
		}
	}

	go func() {
		if err := srv.Serve(lis); err != nil {
			log.Fatalf("bench-sink: %v", err)
		}
	}()

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	tick := time.NewTicker(*interval)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			flush()
		case <-stop:
			srv.Stop()
			flush()
			return
		}
	}
}
