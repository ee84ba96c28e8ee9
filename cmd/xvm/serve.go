package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/xvmtools/xvm/convert"
	"github.com/xvmtools/xvm/probe"
	"github.com/xvmtools/xvm/probe/serve"
)

// serveOptions are the flags of xvm serve.
type serveOptions struct {
	Listen          string
	Config          string
	Interval        time.Duration
	Timeout         time.Duration
	URL             string
	Count           int
	Concurrency     int
	SkewEvery       time.Duration
	MaxTargets      int
	MaxInput        int64
	Sources         sourceOptions
	Watch           time.Duration
	ProbeLinks      bool
	BearerTokenFile string
	BasicAuthFile   string
	LogFormat       string
	LogLevel        string
	ShowSecrets     bool
}

func newServeCmd(a *app) *cobra.Command {
	opts := &serveOptions{}
	d := serve.DefaultSettings()
	cmd := &cobra.Command{
		Use:   "serve [flags] [TARGET...]",
		Short: "Probe VMess servers on a schedule; serve Prometheus metrics and a status page",
		Long: `Watch VMess servers continuously.

xvm serve probes its targets every --interval (give or take 5%), as
'xvm probe' does, and serves what it finds:

  /metrics   Prometheus metrics: xvm_probe_success, xvm_probe_verdict{kind},
             xvm_probe_<phase>_seconds histograms, xvm_probe_clock_offset_seconds, …
  /probe     one probe on demand, blackbox_exporter style:
             /probe?target=NAME&module=GROUP (or target=LINK with --probe-links)
  /          a status page: verdicts, latency, clock offsets, 24 h history
  /events    every result as it comes, as newline-delimited JSON
  /healthz   200 while running (never behind auth)

TARGET is a share link, a file of them or a subscription URL (anything
'xvm probe' reads); they form the group "default". Subscription URLs are
fetched as 'xvm convert' fetches them (--user-agent, --header,
--fetch-timeout, HTTP_PROXY) and again every hour. --config FILE adds groups with their own
interval, URL, timeout and labels (see docs/serve.md). The config and the
files it names are reloaded on SIGHUP and when they change; servers that
did not change keep their results.

Series are labelled name, server, transport and group, never with a user
id. Ctrl-C or SIGTERM shuts down gracefully.

Exit codes: 0 after a graceful shutdown; 2 usage, an unusable config or
input, or an address that cannot be listened on.`,
		Example: `  xvm serve sub.txt
  xvm serve --config serve.yaml --listen 0.0.0.0:9477 --bearer-token-file token
  curl -s 'localhost:9477/probe?target=hk-1&module=provider-a'`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runServe(cmd.Context(), a, opts, args)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Listen, "listen", serve.DefaultListen, "address to serve on (loopback unless you say otherwise)")
	f.StringVar(&opts.Config, "config", "", "YAML config of target groups (reloaded on SIGHUP and on change)")
	f.DurationVar(&opts.Interval, "interval", d.Interval, "time between two probes of a server")
	f.DurationVar(&opts.Timeout, "timeout", d.Timeout, "time limit of each attempt")
	f.StringVar(&opts.URL, "url", d.URL, "URL fetched through each server")
	f.IntVar(&opts.Count, "count", d.Count, "samples per server and probe")
	f.IntVar(&opts.Concurrency, "concurrency", d.Concurrency, "servers of a group probed at once")
	f.DurationVar(&opts.SkewEvery, "skew-every", d.SkewEvery, "how often to measure the clock offset of working servers (0: never)")
	f.IntVar(&opts.MaxTargets, "max-targets", serve.DefaultMaxTargets, "most servers watched; bounds the series exported")
	f.Int64Var(&opts.MaxInput, "max-input-size", convert.DefaultMaxInputBytes, "largest input file accepted, in bytes")
	f.DurationVar(&opts.Watch, "watch", 2*time.Second, "how often to check the config and its files for changes (0: only on SIGHUP)")
	f.BoolVar(&opts.ProbeLinks, "probe-links", false, "let /probe take a share link as its target, not only a configured name (anyone who can reach /probe can then make serve connect anywhere)")
	f.StringVar(&opts.BearerTokenFile, "bearer-token-file", "", "require this file's token (Authorization: Bearer) on every endpoint but /healthz")
	f.StringVar(&opts.BasicAuthFile, "basic-auth-file", "", "require HTTP basic auth with this file's USER:PASSWORD on every endpoint but /healthz")
	f.StringVar(&opts.LogFormat, "log-format", "text", "log format on stderr: text or json")
	f.StringVar(&opts.LogLevel, "log-level", "info", "least log level: debug, info, warn or error")
	f.BoolVar(&opts.ShowSecrets, "show-secrets", false, "show user ids in messages unmasked")
	addFetchFlags(f, &opts.Sources)
	return cmd
}

// serveFlagOf names the flag of a setting the serve package reports.
var serveFlagOf = map[string]string{
	"interval": "--interval", "timeout": "--timeout", "url": "--url", "count": "--count",
	"concurrency": "--concurrency", "skew_every": "--skew-every",
}

func runServe(ctx context.Context, a *app, opts *serveOptions, args []string) error {
	if opts.Config == "" && len(args) == 0 {
		return usageErrorf("serve: nothing to watch: give share links or files, or --config FILE")
	}
	if opts.MaxTargets < 1 {
		return usageErrorf("serve: --max-targets must be positive")
	}
	if opts.MaxInput <= 0 {
		return usageErrorf("serve: --max-input-size must be positive")
	}
	if opts.Watch < 0 {
		return usageErrorf("serve: --watch must not be negative")
	}
	if err := opts.Sources.check("serve"); err != nil {
		return err
	}
	for _, arg := range args {
		if arg == "-" {
			return usageErrorf("serve: '-' (stdin) cannot be read again on reload; give a file")
		}
	}
	fetch, err := opts.Sources.serveFetch(a, false)
	if err != nil {
		return err
	}
	logger, err := serveLogger(a, opts)
	if err != nil {
		return err
	}
	auth, err := serveAuth(opts)
	if err != nil {
		return err
	}
	settings := serve.Settings{
		Interval: opts.Interval, Timeout: opts.Timeout, URL: opts.URL, Count: opts.Count,
		Concurrency: opts.Concurrency, SkewEvery: opts.SkewEvery,
	}
	if err := settings.Check(); err != nil {
		var se *serve.SettingError
		if errors.As(err, &se) && serveFlagOf[se.Key] != "" {
			return usageErrorf("serve: %s %s", serveFlagOf[se.Key], se.Msg)
		}
		return &exitError{code: exitUsage, err: err}
	}
	watch := opts.Watch
	if watch == 0 {
		watch = -1 // the package's "off"
	}
	// SIGTERM is how service managers stop us; SIGHUP reloads.
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM)
	defer stop()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)

	s, err := serve.New(ctx, serve.Options{
		Defaults:      settings,
		ConfigFile:    opts.Config,
		Sources:       args,
		MaxTargets:    opts.MaxTargets,
		MaxInputBytes: opts.MaxInput,
		ForceLegacy:   legacyForced(a.IO.Getenv),
		Fetch:         fetch,
		LinkTargets:   opts.ProbeLinks,
		Auth:          auth,
		WatchEvery:    watch,
		Version:       buildVersion(),
		Probe:         probe.Options{ShowSecrets: opts.ShowSecrets},
		Logger:        logger,
	})
	var tooMany *serve.TooManyTargetsError
	if errors.As(err, &tooMany) {
		return usageErrorf("serve: more than %d targets; split them over several exporters or raise --max-targets", tooMany.Max)
	}
	if err != nil {
		return &exitError{code: exitUsage, err: err}
	}
	l, err := net.Listen("tcp", opts.Listen)
	if err != nil {
		return &exitError{code: exitUsage, err: fmt.Errorf("serve: --listen %s: %w", opts.Listen, err)}
	}
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				logger.Info("SIGHUP: reloading")
				s.Reload(ctx) // a failure is logged; the old targets stay
			}
		}
	}()
	if opts.ProbeLinks && !auth.Enabled() && !isLoopback(l.Addr()) {
		logger.Warn("--probe-links without --bearer-token-file or --basic-auth-file on a listener others can reach: anyone who reaches /probe can make serve connect to any host and port")
	}
	if err := s.Run(ctx, l); err != nil {
		return &exitError{code: exitUsage, err: fmt.Errorf("serve: %w", err)}
	}
	return nil
}

// serveLogger is the structured logger on stderr.
func serveLogger(a *app, opts *serveOptions) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(opts.LogLevel)); err != nil {
		return nil, usageErrorf("serve: --log-level %q: want debug, info, warn or error", opts.LogLevel)
	}
	if a.Global.Quiet {
		level = max(level, slog.LevelWarn)
	}
	ho := &slog.HandlerOptions{Level: level}
	switch opts.LogFormat {
	case "text":
		return slog.New(slog.NewTextHandler(a.IO.ErrOut, ho)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(a.IO.ErrOut, ho)), nil
	}
	return nil, usageErrorf("serve: --log-format %q: want text or json", opts.LogFormat)
}

// serveAuth reads the credentials files. Secrets come from files, not
// flags, so they do not show in the process list.
func serveAuth(opts *serveOptions) (serve.Auth, error) {
	var auth serve.Auth
	read := func(flag, path string) (string, error) {
		b, err := os.ReadFile(path)
		if err != nil {
			return "", usageErrorf("serve: %s: %v", flag, err)
		}
		s := strings.TrimSpace(string(b))
		if s == "" {
			return "", usageErrorf("serve: %s %s is empty", flag, path)
		}
		return s, nil
	}
	if opts.BearerTokenFile != "" {
		tok, err := read("--bearer-token-file", opts.BearerTokenFile)
		if err != nil {
			return auth, err
		}
		auth.BearerToken = tok
	}
	if opts.BasicAuthFile != "" {
		pair, err := read("--basic-auth-file", opts.BasicAuthFile)
		if err != nil {
			return auth, err
		}
		user, pass, ok := strings.Cut(pair, ":")
		if !ok || user == "" || pass == "" {
			return auth, usageErrorf("serve: --basic-auth-file %s: want one line USER:PASSWORD", opts.BasicAuthFile)
		}
		auth.Username, auth.Password = user, pass
	}
	return auth, nil
}

// isLoopback reports whether a listener's address is on loopback only.
func isLoopback(a net.Addr) bool {
	ta, ok := a.(*net.TCPAddr)
	return ok && ta.IP.IsLoopback()
}
