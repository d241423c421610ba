// Command ctxguard-bench measures what the stdio filter adds: the latency of
// a resources/read round trip and the throughput of concurrent reads through
// `ctxguard wrap`, side by side with the same server reached directly, in one
// run, for strict and relaxed durability. It also reports the filter's peak
// RSS and the disk's own fsync latency, so the strict figures can be read
// against it. `make bench` runs it.
//
// `ctxguard-bench http` measures `ctxguard proxy` the same way, over
// Streamable HTTP (see http.go).
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"
)

var (
	requests    = flag.Int("n", 400, "sequential reads per size and mode, for latency")
	rounds      = flag.Int("rounds", 4, "interleaved rounds the sequential reads are split into, so drift hits every mode alike")
	concurrency = flag.Int("c", 16, "requests in flight in the throughput run")
	duration    = flag.Duration("d", 2*time.Second, "length of each throughput run")
	keep        = flag.Bool("keep", false, "keep the temporary directory")
	against     = flag.String("against", "", "another ctxguard binary (an older build) to run in relaxed mode beside this tree's, for a side-by-side comparison")
	only        = flag.String("sizes", "", "comma-separated document sizes to measure (1KB, 64KB, 1MB); all when empty")
	long        = flag.Int("long", 6000, "sequential 64 KB reads in one session per mode, enough to cross the store's log checkpoints (one per ~2,000 reads); 0 skips it")
)

type mode struct {
	name string
	args []string // ctxguard wrap flags; nil: direct
	bin  string   // the ctxguard binary, when not this tree's
}

// The filter's own work is measured without the detectors (the issue's
// figures exclude them); "+detectors" shows the whole cost.
var modes = []mode{
	{name: "direct"},
	{name: "pipe-relay", args: []string{relayMode}},
	{name: "strict", args: []string{"--durability", "strict", "--no-detectors"}},
	{name: "relaxed", args: []string{"--durability", "relaxed", "--no-detectors"}},
	{name: "relaxed+detectors", args: []string{"--durability", "relaxed"}},
}

// relayMode marks the baseline that costs what any process in the middle
// costs: a second pair of pipes and a copy, no inspection. The filter's own
// work is what it adds beyond this.
const relayMode = "relay"

type size struct {
	name string
	n    int
}

var sizes = []size{{"1KB", 1 << 10}, {"64KB", 64 << 10}, {"1MB", 1 << 20}}

func main() {
	if len(os.Args) > 2 && os.Args[1] == relayMode {
		relay(os.Args[2:])
		return
	}
	if len(os.Args) > 1 && os.Args[1] == upstreamMode {
		upstream(os.Args[2:])
		return
	}
	if len(os.Args) > 1 && os.Args[1] == "http" {
		httpBench(os.Args[2:])
		return
	}
	flag.Parse()
	if *only != "" {
		sizes = slices.DeleteFunc(sizes, func(s size) bool { return !slices.Contains(strings.Split(*only, ","), s.name) })
		if len(sizes) == 0 {
			fmt.Fprintln(os.Stderr, "ctxguard-bench: -sizes names none of 1KB, 64KB, 1MB")
			os.Exit(2)
		}
	}
	if *against != "" {
		bin, err := filepath.Abs(*against)
		check(err)
		other := modes[slices.IndexFunc(modes, func(m mode) bool { return m.name == "relaxed" })]
		other.name, other.bin = "relaxed (against)", bin
		modes = append(modes, other)
	}
	tmp, err := os.MkdirTemp("", "ctxguard-bench-")
	check(err)
	if !*keep {
		defer os.RemoveAll(tmp)
	}
	bin := filepath.Join(tmp, "bin")
	build(filepath.Join(bin, "ctxguard"), "./cmd/ctxguard")
	build(filepath.Join(bin, "kbserver"), "./cmd/ctxguard/testdata/kbserver")
	docs := filepath.Join(tmp, "docs")
	check(os.MkdirAll(docs, 0o755))
	for _, s := range sizes {
		check(os.WriteFile(filepath.Join(docs, s.name+".md"), document(s.n), 0o644))
	}
	b := &bench{tmp: tmp, bin: bin, docs: docs}

	fmt.Printf("ctxguard-bench: %d cores, GOMAXPROCS default, %s\n\n", nproc(), time.Now().Format(time.RFC3339))
	p50, p99 := fsyncLatency(tmp, 300, 0)
	fmt.Printf("Disk: fdatasync of a 4 KiB write in the data directory, back to back: p50 %s, p99 %s\n\n", us(p50), us(p99))

	fmt.Printf("Latency of one resources/read round trip (%d sequential reads per cell, %d interleaved rounds)\n\n", *requests, *rounds)
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	strictPace, strictAdded := map[string]time.Duration{}, map[string]time.Duration{}
	fmt.Fprintln(tw, "size\tmode\tp50\tp99\tadded p50\tadded p99\tp50 ratio\tp99 ratio\tover relay p50\tover relay p99\t")
	for _, s := range sizes {
		lat := map[string][]time.Duration{}
		for range *rounds {
			for _, m := range modes {
				lat[m.name] = append(lat[m.name], b.sequential(m, s.name, *requests / *rounds)...)
			}
		}
		d50, d99 := pct(lat["direct"], 50), pct(lat["direct"], 99)
		strictPace[s.name], strictAdded[s.name] = d50, pct(lat["strict"], 50)-d50
		r50, r99 := pct(lat["pipe-relay"], 50), pct(lat["pipe-relay"], 99)
		for _, m := range modes {
			q50, q99 := pct(lat[m.name], 50), pct(lat[m.name], 99)
			switch {
			case m.args == nil:
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t\t\t\t\t\t\t\n", s.name, m.name, us(q50), us(q99))
			case m.args[0] == relayMode:
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%.2fx\t%.2fx\t\t\t\n", s.name, m.name, us(q50), us(q99),
					us(q50-d50), us(q99-d99), float64(q50)/float64(d50), float64(q99)/float64(d99))
			default:
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%.2fx\t%.2fx\t%s\t%s\t\n", s.name, m.name, us(q50), us(q99),
					us(q50-d50), us(q99-d99), float64(q50)/float64(d50), float64(q99)/float64(d99), us(q50-r50), us(q99-r99))
			}
		}
	}
	tw.Flush()

	fmt.Printf("\nStrict durability against one fdatasync paced like the reads (one every direct p50, idle between)\n\n")
	tw = tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "size\tpace\tfdatasync p50\tstrict added p50\tstrict added p50 minus fdatasync p50\t")
	for _, s := range sizes {
		f50, _ := fsyncLatency(tmp, 300, strictPace[s.name])
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t\n", s.name, us(strictPace[s.name]), us(f50), us(strictAdded[s.name]), us(strictAdded[s.name]-f50))
	}
	tw.Flush()

	if *long > 0 && slices.ContainsFunc(sizes, func(s size) bool { return s.name == "64KB" }) {
		fmt.Printf("\nOne long session of %d sequential 64KB reads per mode: the store moves its log into bbolt every ~2,000 records; the longest read shows whether one waits for that\n\n", *long)
		tw = tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "mode\tp50\tp99\tp99.9\tlongest\t")
		for _, m := range modes {
			if m.args != nil && m.args[0] == relayMode || m.name == "relaxed+detectors" {
				continue
			}
			lat := b.sequential(m, "64KB", *long)
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t\n", m.name, us(pct(lat, 50)), us(pct(lat, 99)), us(perMille(lat, 999)), us(slices.Max(lat)))
		}
		tw.Flush()
	}

	fmt.Printf("\nThroughput with %d concurrent reads (%d interleaved rounds of %s per mode)\n\n", *concurrency, *rounds, *duration)
	tw = tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "size\tmode\treads/s\tMB/s\tvs direct\tlongest wait\tfilter peak RSS\t")
	for _, s := range sizes {
		if s.n < 64<<10 {
			continue // a 1 KB read is all round trip: latency tells its story
		}
		reads := map[string]int{}
		secs := map[string]float64{}
		rss := map[string]int64{}
		gap := map[string]time.Duration{}
		for range *rounds {
			for _, m := range modes {
				n, d, peak, wait := b.throughput(m, s.name)
				reads[m.name] += n
				secs[m.name] += d.Seconds()
				rss[m.name] = max(rss[m.name], peak)
				gap[m.name] = max(gap[m.name], wait)
			}
		}
		direct := float64(reads["direct"]) / secs["direct"]
		for _, m := range modes {
			rps := float64(reads[m.name]) / secs[m.name]
			if m.args == nil {
				fmt.Fprintf(tw, "%s\t%s\t%.0f\t%.1f\t\t%s\t\t\n", s.name, m.name, rps, rps*float64(s.n)/1e6, ms(gap[m.name]))
				continue
			}
			peak := "-"
			if rss[m.name] > 0 {
				peak = fmt.Sprintf("%.1f MB", float64(rss[m.name])/1e6)
			}
			fmt.Fprintf(tw, "%s\t%s\t%.0f\t%.1f\t%.0f%%\t%s\t%s\t\n", s.name, m.name, rps, rps*float64(s.n)/1e6, 100*rps/direct, ms(gap[m.name]), peak)
		}
	}
	tw.Flush()
}

type bench struct{ tmp, bin, docs string }

// session is one client connection: a process (the server, or ctxguard in
// front of it) spoken to with raw JSON-RPC lines.
type session struct {
	cmd  *exec.Cmd
	in   io.WriteCloser
	out  *bufio.Reader
	wrap bool
}

func (b *bench) start(m mode) *session {
	server := []string{filepath.Join(b.bin, "kbserver"), "-dir", b.docs}
	var cmd *exec.Cmd
	switch {
	case m.args == nil:
		cmd = exec.Command(server[0], server[1:]...)
	case m.args[0] == relayMode:
		self, err := os.Executable()
		check(err)
		cmd = exec.Command(self, append([]string{relayMode}, server...)...)
	default:
		data, err := os.MkdirTemp(b.tmp, "data-")
		check(err)
		args := append([]string{"--data-dir", data, "--log-level", "warn", "wrap", "--name", "bench"}, m.args...)
		bin := filepath.Join(b.bin, "ctxguard")
		if m.bin != "" {
			bin = m.bin
		}
		cmd = exec.Command(bin, append(append(args, "--"), server...)...)
	}
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	check(err)
	out, err := cmd.StdoutPipe()
	check(err)
	check(cmd.Start())
	s := &session{cmd: cmd, in: in, out: bufio.NewReaderSize(out, 4<<20), wrap: m.args != nil && m.args[0] != relayMode}
	s.send(`{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"ctxguard-bench","version":"1"}}}`)
	s.recv()
	s.send(`{"jsonrpc":"2.0","method":"notifications/initialized"}`)
	return s
}

func (s *session) send(line string) {
	_, err := io.WriteString(s.in, line+"\n")
	check(err)
}

func (s *session) recv() []byte {
	l, err := s.out.ReadSlice('\n')
	for err == bufio.ErrBufferFull {
		var more []byte
		more, err = s.out.ReadSlice('\n')
		l = append(slices.Clone(l), more...)
	}
	check(err)
	return l
}

func (s *session) close() {
	s.in.Close()
	s.cmd.Wait()
}

// peakRSS returns the peak resident set of the filter process, or 0.
func (s *session) peakRSS() int64 {
	if !s.wrap {
		return 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmHWM:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	return 0
}

// relay runs the server and copies bytes both ways, as a process in the
// middle that inspects nothing would.
func relay(server []string) {
	cmd := exec.Command(server[0], server[1:]...)
	cmd.Stdin, cmd.Stderr = os.Stdin, os.Stderr
	out, err := cmd.StdoutPipe()
	check(err)
	check(cmd.Start())
	io.Copy(os.Stdout, out)
	cmd.Wait()
}

func readReq(id int, doc string) string {
	return fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"resources/read","params":{"uri":"file:///kb/%s.md"}}`, id, doc)
}

func (b *bench) sequential(m mode, doc string, n int) []time.Duration {
	s := b.start(m)
	defer s.close()
	for i := range 20 { // warm up
		s.send(readReq(1000000+i, doc))
		s.recv()
	}
	out := make([]time.Duration, n)
	for i := range n {
		t := time.Now()
		s.send(readReq(i+1, doc))
		s.recv()
		out[i] = time.Since(t)
	}
	return out
}

// throughput keeps c reads in flight for the run's duration and returns
// the reads done, the time they took, the filter's peak RSS and the longest
// wait between two responses: a stall shows there rather than only as a
// lower average.
func (b *bench) throughput(m mode, doc string) (int, time.Duration, int64, time.Duration) {
	s := b.start(m)
	defer s.close()
	slots := make(chan struct{}, *concurrency)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	sent := 0
	go func() {
		defer wg.Done()
		for i := 1; ; i++ {
			select {
			case slots <- struct{}{}:
			case <-stop:
				return
			}
			s.send(readReq(i, doc))
			sent++
		}
	}()
	start := time.Now()
	done := 0
	last, longest := start, time.Duration(0)
	for time.Since(start) < *duration {
		s.recv()
		now := time.Now()
		longest = max(longest, now.Sub(last))
		last = now
		<-slots
		done++
	}
	elapsed := time.Since(start)
	close(stop)
	wg.Wait()
	rss := s.peakRSS()
	for range sent - done { // drain what is still in flight
		s.recv()
	}
	return done, elapsed, rss, longest
}

// fsyncLatency times n fdatasyncs of a 4 KiB write, with gap between one
// and the next write. Back to back (gap 0) is the disk at its best; a
// strict filter serving one read at a time syncs once per round trip, and
// on the virtual disks these machines have, a sync after an idle gap of a
// millisecond costs about twice one that follows another at once, so each
// size's strict figure is read against a sync paced like its reads.
func fsyncLatency(dir string, n int, gap time.Duration) (p50, p99 time.Duration) {
	f, err := os.Create(filepath.Join(dir, "fsync-probe"))
	check(err)
	defer f.Close()
	buf := make([]byte, 4096)
	var d []time.Duration
	for i := range n {
		if gap > 0 {
			time.Sleep(gap)
		}
		_, err := f.WriteAt(buf, int64(i%16)*4096)
		check(err)
		t := time.Now()
		check(syscall.Fdatasync(int(f.Fd())))
		d = append(d, time.Since(t))
	}
	return pct(d, 50), pct(d, 99)
}

// document returns n bytes of plausible Markdown.
func document(n int) []byte {
	line := "Invoices from approved vendors are paid on net-30 terms; see the finance portal — Übersicht.\n"
	var b strings.Builder
	b.WriteString("# Benchmark document\n\n")
	for b.Len() < n {
		b.WriteString(line)
	}
	return []byte(b.String()[:n])
}

// pct is the p-th percentile of d (nearest rank).
func pct(d []time.Duration, p int) time.Duration { return perMille(d, 10*p) }

// perMille is the p-th per-mille of d (nearest rank): 999 is p99.9.
func perMille(d []time.Duration, p int) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	i := (len(s)*p + 999) / 1000
	return s[max(0, min(len(s)-1, i-1))]
}

func us(d time.Duration) string { return fmt.Sprintf("%.0f µs", float64(d)/float64(time.Microsecond)) }

func nproc() int {
	b, _ := os.ReadFile("/proc/cpuinfo")
	return strings.Count(string(b), "processor\t:")
}

func build(out, pkg string) {
	cmd := exec.Command("go", "build", "-o", out, pkg)
	cmd.Stderr = os.Stderr
	check(cmd.Run())
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "ctxguard-bench:", err)
		os.Exit(1)
	}
}
