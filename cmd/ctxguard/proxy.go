package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/ctxguard/ctxguard/config"
	"github.com/ctxguard/ctxguard/filter/httpproxy"
	"github.com/ctxguard/ctxguard/internal/gctune"
)

type proxyCmd struct {
	filterFlags
	Listen     string        `name:"listen" placeholder:"ADDR" help:"Address to serve on, e.g. 127.0.0.1:8080 (or [proxy] listen in the config)."`
	Upstream   []string      `name:"upstream" sep:"none" placeholder:"URL|NAME=URL" help:"A Streamable HTTP MCP server: URL is served at its own path (http://h:p/mcp → http://ADDR/mcp); NAME=URL at /NAME + its path. Repeatable (then each needs a name). Default: [proxy] upstreams in the config."`
	Durability string        `name:"durability" enum:"strict,relaxed," default:"" help:"When a record counts as stored: strict (fsynced before the response is forwarded; the default) or relaxed."`
	MaxBody    int64         `name:"max-body" placeholder:"BYTES" help:"Largest request body, JSON response or SSE event (default 64 MiB)."`
	Timeout    time.Duration `name:"upstream-timeout" placeholder:"DURATION" help:"How long an upstream has to connect and start its answer (default 30s); streams themselves may last."`
	Host       []string      `name:"host" sep:"none" placeholder:"NAME" help:"Host name the proxy answers to (Host and Origin headers); repeatable. Default on loopback: localhost, 127.0.0.1, ::1 (DNS rebinding protection); elsewhere any."`
	Origin     []string      `name:"origin" sep:"none" placeholder:"URL" help:"Further origin (scheme://host[:port]) browsers may call the proxy from; repeatable."`
	TLSCert    string        `name:"tls-cert" type:"existingfile" placeholder:"FILE" help:"Serve HTTPS with this certificate (PEM), and --tls-key."`
	TLSKey     string        `name:"tls-key" type:"existingfile" placeholder:"FILE" help:"Private key (PEM) of --tls-cert."`
}

// Help is the command's description in ctxguard proxy --help.
func (c *proxyCmd) Help() string {
	return "Run the filter in front of remote MCP servers that speak Streamable HTTP: every response (a JSON body, or an SSE stream event by event) gets the same provenance, baselines, detectors and quarantine as over stdio. Authorization headers and other paths (OAuth discovery) pass through untouched. /healthz answers 200; /metrics serves Prometheus metrics (requests, items by verdict and decision, the filter's latency, the quarantine's depth, the LLM's calls and tokens)."
}

func (c *proxyCmd) Run(ctx context.Context, g *Globals) error {
	c.fromConfig(g.cfg.Proxy)
	if c.Listen == "" || len(c.Upstream) == 0 {
		return exitCode{2, "proxy: needs --listen ADDR and at least one --upstream URL (or [proxy] listen and upstreams in the config)"}
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return exitCode{2, "proxy: --tls-cert and --tls-key go together"}
	}
	var ups []httpproxy.Upstream
	for _, s := range c.Upstream {
		u, err := httpproxy.ParseUpstream(s)
		if err != nil {
			return exitCode{2, "proxy: " + err.Error()}
		}
		ups = append(ups, u)
	}
	dir, err := g.dataDir()
	if err != nil {
		return err
	}
	defer gctune.Tune(proxyMemoryLimit, proxyHeadroom)()
	db, err := openFilterStore(g, dir, c.Durability)
	if err != nil {
		return err
	}
	defer db.Close()
	log := g.logger(true)
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	f, err := c.newFilter(ctx, g, dir, db, log, reg)
	if err != nil {
		return err
	}
	hosts := c.Host
	if loopback, _ := isLoopback(c.Listen); loopback && len(hosts) == 0 {
		hosts = httpproxy.LoopbackHosts
	}
	p, err := httpproxy.New(httpproxy.Options{Upstreams: ups, Filter: f, MaxBody: c.MaxBody, MaxPending: g.cfg.Filter.MaxPending,
		Hosts: hosts, Origins: c.Origin, UpstreamTimeout: c.Timeout, Logger: log})
	if err != nil {
		return exitCode{2, err.Error()}
	}
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ctxguard_proxy_requests_total",
		Help: "HTTP requests the proxy served, by method and status code."}, []string{"method", "code"})
	reg.MustRegister(requests)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok\n")) })
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.Handle("/", promhttp.InstrumentHandlerCounter(requests, p))

	// ctxguard-bench http profiles the proxy through these variables.
	if path := os.Getenv("CTXGUARD_CPUPROFILE"); path != "" {
		f, err := os.Create(path)
		if err != nil {
			return fmt.Errorf("proxy: CTXGUARD_CPUPROFILE: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("proxy: CTXGUARD_CPUPROFILE: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	if path := os.Getenv("CTXGUARD_MEMPROFILE"); path != "" {
		defer writeAllocProfile(path, g.stderr)
	}
	ln, err := net.Listen("tcp", c.Listen)
	if err != nil {
		return fmt.Errorf("proxy: %w", err)
	}
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 1 << 20}
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	scheme := "http"
	if c.TLSCert != "" {
		scheme = "https"
	}
	for _, u := range ups {
		path := u.URL.Path
		if u.Name != "" {
			path = "/" + u.Name + path
		}
		fmt.Fprintf(g.stdout, "ctxguard proxy: %s://%s%s → %s\n", scheme, ln.Addr(), path, u.URL.Redacted())
	}
	// Requests under way, open streams included, get a few seconds.
	err = listener{cert: c.TLSCert, key: c.TLSKey, grace: 10 * time.Second}.serve(ctx, hs, ln)
	p.CloseIdleConnections()
	if err != nil {
		return fmt.Errorf("proxy: %w", err)
	}
	return nil
}

// fromConfig fills in what the command line left unset from [proxy].
func (c *proxyCmd) fromConfig(p config.Proxy) {
	c.Listen = firstNonEmpty(c.Listen, p.Listen)
	if len(c.Upstream) == 0 {
		c.Upstream = p.Upstreams
	}
	if len(c.Host) == 0 {
		c.Host = p.Hosts
	}
	if len(c.Origin) == 0 {
		c.Origin = p.Origins
	}
	if c.MaxBody <= 0 {
		c.MaxBody = p.MaxBody
	}
	if c.Timeout <= 0 {
		c.Timeout = p.UpstreamTimeout.Duration
	}
	if c.TLSCert == "" && c.TLSKey == "" {
		c.TLSCert, c.TLSKey = p.TLSCert, p.TLSKey
	}
}

// Memory for gctune.Tune: a proxy serves many callers at once and gets room
// for their requests in flight.
const (
	proxyMemoryLimit = 256 << 20
	proxyHeadroom    = 64 << 20
)
