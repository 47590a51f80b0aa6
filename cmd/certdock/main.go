// Command certdock keeps TLS certificates issued by ACME DNS-01 for
// everything on a Docker host, in certbot's layout. Subcommands: run,
// check, status, renew, sandbox, health, version.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = ""

const usage = `certdock keeps TLS certificates issued by ACME DNS-01, in certbot's layout.

Usage:
  certdock run [--once]            keep certificates issued (--once: one pass, then exit)
  certdock check                   validate the configuration and list the desired certificates
  certdock status                  show the certificates on disk
  certdock renew [--force] NAME... renew the named certificates now (--force: even if not due)
  certdock sandbox [--once]        trial: same controller against an embedded test CA and DNS
  certdock health                  ask the running daemon's /healthz (CERTDOCK_LISTEN); exit 0 if healthy
  certdock version                 print the version

Configuration comes from the environment (see README.md).
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is main without os.Exit, for tests. Exit codes: 0 ok, 1 some
// certificate or line failed, 2 usage or configuration error.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cmd, rest := args[0], args[1:]
	var err error
	switch cmd {
	case "run":
		err = cmdRun(ctx, rest, stdout, stderr)
	case "check":
		err = cmdCheck(ctx, rest, stdout, stderr)
	case "status":
		err = cmdStatus(ctx, rest, stdout, stderr)
	case "renew":
		err = cmdRenew(ctx, rest, stdout, stderr)
	case "sandbox":
		err = cmdSandbox(ctx, rest, stdout, stderr)
	case "health":
		err = cmdHealth(ctx, rest, stdout, stderr)
	case "version", "--version", "-v":
		fmt.Fprintln(stdout, "certdock", buildVersion())
		return 0
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "certdock: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
	var ue usageError
	var fe flagError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &fe):
		return 2
	case errors.As(err, &ue), errors.Is(err, flag.ErrHelp):
		fmt.Fprintln(stderr, "certdock:", err)
		return 2
	case errors.Is(err, errFailed):
		return 1
	default:
		fmt.Fprintln(stderr, "certdock:", err)
		return 2
	}
}

// usageError marks configuration and usage mistakes (exit code 2).
type usageError struct{ error }

// flagError is a command-line parse error the flag package has already
// printed, with the usage (exit code 2).
type flagError struct{ error }

// errFailed means some certificates or lines failed; details were logged.
var errFailed = errors.New("some certificates failed")

func buildVersion() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "dev"
}

func newLogger(w io.Writer, format string, level slog.Level) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return !errors.Is(err, fs.ErrNotExist)
}
