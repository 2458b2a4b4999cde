// Command jeeves-alert-webhook is the default Alertmanager webhook receiver of the Jeeves
// observability stack: it records the notifications Alertmanager posts (POST /alerts, webhook
// payload version 4), logs one line per alert and serves the newest ones as JSON (GET /alerts).
// See README.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// listenEnv, when set, replaces the default of -listen (an explicit -listen still wins).
const listenEnv = "JEEVES_ALERT_WEBHOOK_LISTEN"

const shutdownTimeout = 5 * time.Second

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Getenv, os.Stderr))
}

type options struct {
	listen  string
	max     int
	maxBody int64
	probe   string
}

func parseFlags(args []string, getenv func(string) string, stderr io.Writer) (options, error) {
	listen := "127.0.0.1:8080"
	if v := getenv(listenEnv); v != "" {
		listen = v
	}
	var o options
	fs := flag.NewFlagSet("jeeves-alert-webhook", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.listen, "listen", listen, "host:port to serve on; the default comes from $"+listenEnv+" when set")
	fs.IntVar(&o.max, "max", 1000, "alerts kept in memory; the oldest are dropped (and counted) beyond this")
	fs.Int64Var(&o.maxBody, "max-body", 4<<20, "largest notification body accepted, in bytes; larger ones get 413")
	fs.StringVar(&o.probe, "probe", "", "health-check mode: GET this URL, exit 0 on 200 and 1 otherwise (for images without a shell)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	var errs []error
	if o.max < 1 {
		errs = append(errs, fmt.Errorf("-max must be at least 1, got %d", o.max))
	}
	if o.maxBody < 1 {
		errs = append(errs, fmt.Errorf("-max-body must be at least 1, got %d", o.maxBody))
	}
	if _, _, err := net.SplitHostPort(o.listen); err != nil {
		errs = append(errs, fmt.Errorf("-listen must be host:port, got %q: %w", o.listen, err))
	}
	return o, errors.Join(errs...)
}

// run returns the process exit code: 0 after a clean stop, 1 on a runtime failure, 2 on bad flags.
func run(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) int {
	o, err := parseFlags(args, getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		_, _ = fmt.Fprintln(stderr, "jeeves-alert-webhook:", err)
		return 2
	}
	if o.probe != "" {
		return probe(ctx, o.probe, stderr)
	}
	logger := slog.New(slog.NewTextHandler(stderr, nil))
	if err := serve(ctx, o, logger, nil); err != nil {
		logger.Error("stopped", slog.String("error", err.Error()))
		return 1
	}
	return 0
}

// serve listens on o.listen and serves until ctx ends, then shuts down gracefully. When ready is
// non-nil it receives the bound address once the listener is open.
func serve(ctx context.Context, o options, logger *slog.Logger, ready chan<- net.Addr) error {
	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return err
	}
	rc := &recorder{store: newStore(o.max), maxBody: o.maxBody, logger: logger, now: time.Now}
	srv := &http.Server{
		Handler:           rc.routes(),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	logger.Info("listening", slog.String("address", ln.Addr().String()), slog.Int("max", o.max), slog.Int64("max_body", o.maxBody))
	if ready != nil {
		ready <- ln.Addr()
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	err = srv.Shutdown(shutdownCtx)
	// Serve returns http.ErrServerClosed once Shutdown starts; anything else is a failure too.
	if serveErr := <-errc; !errors.Is(serveErr, http.ErrServerClosed) {
		err = errors.Join(err, serveErr)
	}
	if err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	logger.Info("stopped")
	return nil
}

// probe is the container health check: the image has no shell or HTTP client.
func probe(ctx context.Context, url string, stderr io.Writer) int {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		_, _ = fmt.Fprintln(stderr, "jeeves-alert-webhook: probe:", err)
		return 1
	}
	// One request: no connection is kept for a next one.
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Do(req)
	if err != nil {
		_, _ = fmt.Fprintln(stderr, "jeeves-alert-webhook: probe:", err)
		return 1
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = fmt.Fprintf(stderr, "jeeves-alert-webhook: probe: %s answered %s\n", url, resp.Status)
		return 1
	}
	return 0
}
