package search_test

import (
	"context"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ctxguard/ctxguard"
	"github.com/ctxguard/ctxguard/store"
	"github.com/ctxguard/ctxguard/store/bolt"
	"github.com/ctxguard/ctxguard/store/search"
)

// The benchmarks share one queue of 100,000 items (10,000 with -short),
// built and indexed once: that takes a while, and is reported as
// index_s.
var big struct {
	once  sync.Once
	dir   string
	db    *bolt.DB
	x     *search.Index
	index time.Duration
	size  int64 // of the index, bytes
	n     int
	err   error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if big.x != nil {
		big.x.Close()
		big.db.Close()
	}
	if big.dir != "" {
		os.RemoveAll(big.dir)
	}
	os.Exit(code)
}

var vocabulary = strings.Fields(`the a of to and in for on with as by at from that this is are was be
	invoice payment account vendor supplier bank transfer quarterly report budget forecast meeting
	schedule customer support ticket password credentials login server deploy release update
	policy security review audit compliance contract renewal office holiday calendar team project
	roadmap milestone document wiki page draft summary note reminder urgent please kindly email
	attach file folder share access permission admin user group manager director finance payroll
	salary expense travel booking hotel flight conference training onboarding handbook benefits
	network firewall backup restore database query index search cache latency error incident
	outage postmortem ownership escalation approval signature deadline friday monday tomorrow`)

// prose returns about n bytes of sentences drawn from the vocabulary.
func prose(r *rand.Rand, n int) string {
	var b strings.Builder
	for b.Len() < n {
		words := 6 + r.IntN(12)
		for i := range words {
			w := vocabulary[r.IntN(len(vocabulary))]
			if i == 0 {
				w = strings.ToUpper(w[:1]) + w[1:]
			}
			b.WriteString(w)
			if i < words-1 {
				b.WriteByte(' ')
			}
		}
		b.WriteString(". ")
	}
	return b.String()
}

func bigQueue(b *testing.B) {
	big.once.Do(func() {
		big.n = 100_000
		if testing.Short() {
			big.n = 10_000
		}
		big.dir, big.err = os.MkdirTemp("", "ctxguard-search-bench-")
		if big.err != nil {
			return
		}
		big.db, big.err = bolt.Open(big.dir, bolt.Options{Durability: store.Relaxed})
		if big.err != nil {
			return
		}
		servers := []string{"wiki", "docs", "tickets", "drive"}
		detectors := []string{"phrases", "exfil", "hidden", "encoding", "links"}
		sevs := []ctxguard.Severity{ctxguard.SeverityLow, ctxguard.SeverityMedium, ctxguard.SeverityHigh, ctxguard.SeverityCritical}
		r := rand.New(rand.NewPCG(1, 2))
		start := time.Now().Add(-time.Duration(big.n) * time.Minute)
		ctx := context.Background()
		for i := 0; i < big.n; i += 1000 {
			var its []*ctxguard.QuarantineItem
			for j := i; j < min(i+1000, big.n); j++ {
				its = append(its, &ctxguard.QuarantineItem{
					CreatedAt: start.Add(time.Duration(j) * time.Minute),
					Server:    servers[j%len(servers)],
					URI:       fmt.Sprintf("file:///%s/page-%d.md", servers[j%len(servers)], j),
					SHA256:    fmt.Sprintf("%064x", j),
					Score:     r.Float64(),
					Findings: []ctxguard.Finding{
						{Detector: detectors[j%len(detectors)], Rule: fmt.Sprintf("rule-%d", j%40), Severity: sevs[j%len(sevs)]},
						{Detector: detectors[(j/7)%len(detectors)], Rule: fmt.Sprintf("rule-%d", j%13), Severity: sevs[(j/3)%len(sevs)]},
					},
					Content: prose(r, 1000),
				})
				if j%100 == 0 { // a rare word, in 1% of the items
					its[len(its)-1].Content += "Change the IBAN today."
				}
			}
			if big.err = big.db.Hold(ctx, its); big.err != nil {
				return
			}
		}
		// A reviewed tenth, so that the status filter has work to do.
		var ids []string
		if _, big.err = big.db.Changes(ctx, 0, func(c uint64, it *ctxguard.QuarantineItem) error {
			if c%10 == 5 {
				ids = append(ids, it.ID)
			}
			return nil
		}); big.err != nil {
			return
		}
		for _, id := range ids {
			if _, big.err = big.db.Review(ctx, id, ctxguard.ReviewAction{Action: "release"}); big.err != nil {
				return
			}
		}
		big.x, big.err = search.Open(filepath.Join(big.dir, "index"), time.Second)
		if big.err != nil {
			return
		}
		t := time.Now()
		_, big.err = big.x.Sync(ctx, big.db)
		big.index = time.Since(t)
		big.x.Close() // persists everything, so that the size is final
		big.x, big.err = search.Open(filepath.Join(big.dir, "index"), time.Second)
		_ = filepath.WalkDir(filepath.Join(big.dir, "index"), func(_ string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				if fi, err := d.Info(); err == nil {
					big.size += fi.Size()
				}
			}
			return nil
		})
	})
	if big.err != nil {
		b.Fatal(big.err)
	}
}

// BenchmarkSearch100k searches for a word that most items have and for
// one that 1% have, with a status filter, newest first.
func BenchmarkSearch100k(b *testing.B) {
	bigQueue(b)
	b.Logf("%d items indexed in %s, index %d MiB", big.n, big.index, big.size>>20)
	for _, word := range []string{"invoice", "iban"} {
		b.Run(word, func(b *testing.B) {
			ctx := context.Background()
			req := search.Request{Query: word, Status: ctxguard.StatusPending}
			var res search.Result
			for b.Loop() {
				var err error
				if res, err = big.x.Search(ctx, req); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(res.Total), "hits")
			b.ReportMetric(big.index.Seconds(), "index_s")
			b.ReportMetric(float64(big.size)/(1<<20), "index_MiB")
		})
	}
}

func BenchmarkSync1(b *testing.B) {
	bigQueue(b)
	ctx := context.Background()
	r := rand.New(rand.NewPCG(3, 4))
	for b.Loop() {
		b.StopTimer()
		it := &ctxguard.QuarantineItem{Server: "wiki", Content: prose(r, 1000),
			Findings: []ctxguard.Finding{{Detector: "phrases", Rule: "r", Severity: ctxguard.SeverityHigh}}}
		if err := big.db.Hold(ctx, []*ctxguard.QuarantineItem{it}); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		n, err := big.x.Sync(ctx, big.db)
		if err != nil || n != 1 {
			b.Fatalf("Sync: %d, %v", n, err)
		}
	}
}
