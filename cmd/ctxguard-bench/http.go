package main

// `ctxguard-bench http`: the Streamable HTTP proxy under load, as operators
// run it. Three processes: an upstream MCP server (this program, `upstream`
// mode: the Go SDK's streamable handler over 16 KB documents), the built
// `ctxguard proxy` in front of it, and the load (this process: 64 Go SDK
// streamable sessions reading documents). The sessions read directly from
// the upstream and through each proxy in interleaved rounds of one run, so
// drift and noise hit every target alike. It reports reads per second (and
// their ratio to direct), p50 and p99 and what the proxy adds to them, the
// proxy's own peak RSS (VmHWM of its process) and its goroutines after the
// run (go_goroutines from its /metrics).

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/ctxguard/ctxguard/demo"
)

// upstreamMode serves the documents under -dir over Streamable HTTP on
// -listen and prints the address it listens on.
const upstreamMode = "upstream"

func upstream(args []string) {
	fs := flag.NewFlagSet(upstreamMode, flag.ExitOnError)
	dir := fs.String("dir", "", "documents to serve")
	listen := fs.String("listen", "127.0.0.1:0", "address")
	jsonResp := fs.Bool("json", false, "answer POSTs with JSON bodies, not event streams")
	stateless := fs.Bool("stateless", false, "serve the stateless revision (2026-07-28)")
	fs.Parse(args)
	srv, err := demo.NewServer(os.DirFS(*dir), "file:///kb/")
	check(err)
	ln, err := net.Listen("tcp", *listen)
	check(err)
	fmt.Println(ln.Addr())
	h := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return srv },
		&mcp.StreamableHTTPOptions{JSONResponse: *jsonResp, Stateless: *stateless})
	check(http.Serve(ln, h))
}

type httpTarget struct {
	name string
	url  string
	cmd  *exec.Cmd // the proxy process; nil: direct
	base string    // the proxy's own address, for /metrics
}

func httpBench(args []string) {
	fs := flag.NewFlagSet("http", flag.ExitOnError)
	sessions := fs.Int("sessions", 64, "concurrent MCP sessions")
	docSize := fs.Int("size", 16<<10, "document size in bytes")
	dur := fs.Duration("d", 3*time.Second, "length of each target's run in a round")
	rounds := fs.Int("rounds", 3, "interleaved rounds")
	modes := fs.String("modes", "sse,json", "how the upstream answers POSTs: sse (the Go SDK's default), json, stateless (2026-07-28, SSE)")
	keepTmp := fs.Bool("keep", false, "keep the temporary directory")
	cpuprofile := fs.Bool("cpuprofile", false, "write CPU and allocation profiles of the (relaxed) proxy to the temporary directory, and keep them")
	fs.Parse(args)

	tmp, err := os.MkdirTemp("", "ctxguard-bench-http-")
	check(err)
	if !*keepTmp && !*cpuprofile {
		defer os.RemoveAll(tmp)
	}
	bin := filepath.Join(tmp, "bin")
	build(filepath.Join(bin, "ctxguard"), "./cmd/ctxguard")
	docs := filepath.Join(tmp, "docs")
	check(os.MkdirAll(docs, 0o755))
	const ndocs = 16
	for i := range ndocs {
		check(os.WriteFile(filepath.Join(docs, fmt.Sprintf("doc%02d.md", i)), document(*docSize), 0o644))
	}
	self, err := os.Executable()
	check(err)

	fmt.Printf("ctxguard-bench http: %d cores, %d sessions reading %d-byte documents, %d interleaved rounds of %s per target, %s\n\n",
		nproc(), *sessions, *docSize, *rounds, *dur, time.Now().Format(time.RFC3339))
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "upstream\ttarget\treads/s\tvs direct\tp50\tp99\tadded p50\tadded p99\tproxy peak RSS\tgoroutines before\tgoroutines after\t")
	for _, mode := range strings.Split(*modes, ",") {
		var upArgs []string
		switch mode {
		case "sse":
		case "json":
			upArgs = []string{"-json"}
		case "stateless":
			upArgs = []string{"-stateless"}
		default:
			check(fmt.Errorf("unknown mode %q", mode))
		}
		up := exec.Command(self, append([]string{upstreamMode, "-dir", docs}, upArgs...)...)
		upAddr := startPrinting(up, regexp.MustCompile(`^(\S+:\d+)$`))
		upURL := "http://" + upAddr + "/mcp"
		targets := []*httpTarget{{name: "direct", url: upURL}}
		for _, d := range []string{"relaxed", "strict"} {
			args := []string{"--data-dir", filepath.Join(tmp, "data-"+mode+"-"+d), "--log-level", "error", "proxy",
				"--listen", "127.0.0.1:0", "--upstream", upURL, "--durability", d}
			cmd := exec.Command(filepath.Join(bin, "ctxguard"), args...)
			if *cpuprofile && d == "relaxed" {
				cmd.Env = append(os.Environ(), "CTXGUARD_CPUPROFILE="+filepath.Join(tmp, "proxy-"+mode+".pprof"),
					"CTXGUARD_MEMPROFILE="+filepath.Join(tmp, "proxy-"+mode+".allocs"))
			}
			addr := startPrinting(cmd, regexp.MustCompile(`http://(\S+?)/mcp`))
			targets = append(targets, &httpTarget{name: "proxy " + d, url: "http://" + addr + "/mcp", cmd: cmd, base: "http://" + addr})
		}
		before := map[string]int{}
		for _, t := range targets {
			if t.cmd != nil {
				before[t.name] = goroutines(t.base)
			}
		}
		lat := map[string][]time.Duration{}
		secs := map[string]float64{}
		for range *rounds {
			for _, t := range targets {
				l, d := loadRun(t.url, *sessions, ndocs, *dur)
				lat[t.name] = append(lat[t.name], l...)
				secs[t.name] += d.Seconds()
			}
		}
		direct := float64(len(lat["direct"])) / secs["direct"]
		d50, d99 := pct(lat["direct"], 50), pct(lat["direct"], 99)
		for _, t := range targets {
			rps := float64(len(lat[t.name])) / secs[t.name]
			p50, p99 := pct(lat[t.name], 50), pct(lat[t.name], 99)
			if t.cmd == nil {
				fmt.Fprintf(tw, "%s\t%s\t%.0f\t\t%s\t%s\t\t\t\t\t\t\n", mode, t.name, rps, ms(p50), ms(p99))
				continue
			}
			rss := peakRSS(t.cmd.Process.Pid)
			after := goroutines(t.base)
			fmt.Fprintf(tw, "%s\t%s\t%.0f\t%.0f%%\t%s\t%s\t%s\t%s\t%.1f MB\t%d\t%d\t\n", mode, t.name, rps, 100*rps/direct,
				ms(p50), ms(p99), ms(p50-d50), ms(p99-d99), float64(rss)/1e6, before[t.name], after)
		}
		for _, t := range targets {
			if t.cmd != nil {
				t.cmd.Process.Signal(os.Interrupt)
				t.cmd.Wait()
			}
		}
		up.Process.Kill()
		up.Wait()
	}
	tw.Flush()
	fmt.Println("\ngoroutines: the proxy's go_goroutines (/metrics) before the first session and after the last closed; the difference is the idle keep-alive connections it keeps to the upstream (two goroutines each, at most 64, closed after 90 s idle).")
	if *cpuprofile {
		fmt.Printf("CPU profiles of the relaxed proxy: %s/proxy-*.pprof (go tool pprof -top %s %s/proxy-sse.pprof)\n", tmp, filepath.Join(bin, "ctxguard"), tmp)
	}
}

// loadRun connects n sessions to url, has each read documents one after the
// other for d, and returns every read's latency and the time taken.
func loadRun(url string, n, ndocs int, d time.Duration) ([]time.Duration, time.Duration) {
	tr := &http.Transport{MaxIdleConnsPerHost: n, MaxIdleConns: n}
	defer tr.CloseIdleConnections()
	ctx := context.Background()
	css := make([]*mcp.ClientSession, n)
	for i := range css {
		c := mcp.NewClient(&mcp.Implementation{Name: "ctxguard-bench", Version: "1"}, nil)
		cs, err := c.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: url, DisableStandaloneSSE: true, HTTPClient: &http.Client{Transport: tr}}, nil)
		check(err)
		css[i] = cs
	}
	var mu sync.Mutex
	var all []time.Duration
	var wg sync.WaitGroup
	start := time.Now()
	stop := start.Add(d)
	for i, cs := range css {
		wg.Go(func() {
			var local []time.Duration
			for j := 0; time.Now().Before(stop); j++ {
				t0 := time.Now()
				_, err := cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: fmt.Sprintf("file:///kb/doc%02d.md", (i+j)%ndocs)})
				check(err)
				local = append(local, time.Since(t0))
			}
			mu.Lock()
			all = append(all, local...)
			mu.Unlock()
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	for _, cs := range css {
		cs.Close()
	}
	return all, elapsed
}

// startPrinting starts cmd and returns the first submatch of re in the
// first line it prints.
func startPrinting(cmd *exec.Cmd, re *regexp.Regexp) string {
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	check(err)
	check(cmd.Start())
	rd := bufio.NewReader(out)
	line, err := rd.ReadString('\n')
	check(err)
	m := re.FindStringSubmatch(strings.TrimSpace(line))
	if m == nil {
		check(fmt.Errorf("%s printed %q", cmd.Args[0], line))
	}
	go io.Copy(io.Discard, rd)
	return m[1]
}

// goroutines reads go_goroutines from the proxy's /metrics.
func goroutines(base string) int {
	resp, err := http.Get(base + "/metrics")
	check(err)
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "go_goroutines "); ok {
			n, _ := strconv.ParseFloat(v, 64)
			return int(n)
		}
	}
	check(fmt.Errorf("%s/metrics has no go_goroutines", base))
	return 0
}

// peakRSS is VmHWM of process pid, in bytes.
func peakRSS(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	check(err)
	for line := range strings.SplitSeq(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmHWM:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	return 0
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }
