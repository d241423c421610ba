package anomaly

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

func TestWebhookDelivers(t *testing.T) {
	var (
		mu   sync.Mutex
		got  []map[string]any
		ctyp string
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var v map[string]any
		if err := json.Unmarshal(b, &v); err != nil {
			t.Errorf("body %q: %v", b, err)
		}
		mu.Lock()
		got, ctyp = append(got, v), r.Header.Get("Content-Type")
		mu.Unlock()
	}))
	defer srv.Close()
	w, err := NewWebhook(context.Background(), srv.URL+"/hook", 0, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		w.Send(map[string]any{"event": "anomaly", "n": i})
	}
	if err := w.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	w.Send(map[string]any{"after": "close"}) // dropped, no panic
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 3 || got[2]["n"] != float64(2) || ctyp != "application/json" {
		t.Fatalf("delivered %v (%s)", got, ctyp)
	}
	if sent, failed, dropped := w.Stats(); sent != 3 || failed != 0 || dropped != 0 {
		t.Fatalf("stats %d %d %d", sent, failed, dropped)
	}
}

// A stuck endpoint never blocks Send: the queue fills and events are
// dropped. A failing one is logged by host, never with the URL's secret.
func TestWebhookNeverBlocksNorLeaksTheURL(t *testing.T) {
	release := make(chan struct{})
	var once sync.Once
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-release
		http.Error(w, "nope", http.StatusInternalServerError)
	}))
	defer srv.Close()
	defer once.Do(func() { close(release) })
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	const secret = "T0KEN-s3cr3t"
	w, err := NewWebhook(context.Background(), srv.URL+"/hooks/"+secret+"?key="+secret, 0, 2, log)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 50 {
		w.Send(map[string]int{"n": i}) // returns at once: the endpoint hangs
	}
	once.Do(func() { close(release) })
	if err := w.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	sent, failed, dropped := w.Stats()
	if sent != 0 || failed == 0 || dropped == 0 || failed+dropped != 50 {
		t.Fatalf("stats sent %d failed %d dropped %d", sent, failed, dropped)
	}
	if strings.Contains(logs.String(), secret) {
		t.Fatalf("the log holds the URL's secret:\n%s", logs.String())
	}
	if !strings.Contains(logs.String(), "500") || !strings.Contains(logs.String(), "target=http://127.0.0.1") {
		t.Fatalf("the log does not say what failed where:\n%s", logs.String())
	}
}

// An endpoint that does not answer within the timeout: the failure names
// no secret either (a url.Error would quote the URL).
func TestWebhookTimeoutLogsNoSecret(t *testing.T) {
	done := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-done:
		}
	}))
	defer srv.Close()
	defer close(done)
	var logs bytes.Buffer
	w, err := NewWebhook(context.Background(), srv.URL+"/?token=sekret-123", 1, 0, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	w.Send("x")
	if err := w.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, failed, _ := w.Stats(); failed != 1 {
		t.Fatalf("failed = %d, want 1", failed)
	}
	if strings.Contains(logs.String(), "sekret") {
		t.Fatalf("the log holds the secret:\n%s", logs.String())
	}
	if _, err := NewWebhook(context.Background(), "ftp://x/y", 0, 0, nil); err == nil {
		t.Fatal("an ftp URL was taken")
	}
}

// Events queued when the delivery context is cancelled (a SIGTERM to the
// proxy cancels the command's context before the store closes) are
// delivered by Close, as is the one in flight.
func TestWebhookCloseDeliversAfterTheContextIsCancelled(t *testing.T) {
	var (
		mu  sync.Mutex
		got []float64
	)
	arrived, gate := make(chan struct{}, 8), make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var v map[string]float64
		_ = json.NewDecoder(r.Body).Decode(&v)
		arrived <- struct{}{}
		<-gate
		mu.Lock()
		got = append(got, v["n"])
		mu.Unlock()
	}))
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	w, err := NewWebhook(ctx, srv.URL, 0, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		w.Send(map[string]any{"n": i})
	}
	<-arrived // the first is in flight, the others queued
	cancel()
	close(gate)
	<-w.done // the delivery loop has stopped with its context
	if err := w.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if sent, failed, dropped := w.Stats(); sent != 3 || failed != 0 || dropped != 0 {
		t.Fatalf("stats: %d sent, %d failed, %d dropped; want 3 sent", sent, failed, dropped)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 3 {
		t.Fatalf("the endpoint got %v", got)
	}
}
