package main

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ctxguard/ctxguard"
)

// scripted starts ctxguard wrap in front of the scripted test server with
// the given script (method → raw reply lines).
func scripted(t *testing.T, script map[string][]string, wrapFlags ...string) (*rawClient, string) {
	t.Helper()
	b, _ := json.Marshal(script)
	p := filepath.Join(t.TempDir(), "script.json")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	data := t.TempDir()
	return startRaw(t, wrapArgs(data, wrapFlags, scriptedBin, "-script", p)...), data
}

const readReq = `{"jsonrpc":"2.0","id":%s,"method":"resources/read","params":{"uri":"file:///doc"}}`

func sha(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

func errorCode(t *testing.T, line string) int {
	t.Helper()
	var m struct {
		Error *struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal([]byte(line), &m); err != nil || m.Error == nil {
		t.Fatalf("want a JSON-RPC error, got %s", line)
	}
	return m.Error.Code
}

// Messages the filter does not change pass byte for byte: odd id types,
// unknown members, _meta, odd spacing, a batch, notifications and requests
// from the server.
func TestBytePassThrough(t *testing.T) {
	replies := []string{
		`{"jsonrpc":"2.0","id":$ID,"result":{"contents":[{"uri":"file:///doc","mimeType":"text/plain","text":"hello \u00e9\n","_meta":{"x":1}}],"_meta":{"trace":"abc"}},"x-unknown":[1,2,{"a":null}]}`,
		`{"jsonrpc":"2.0","method":"notifications/message","params":{"level":"info","data":"log line"}}`,
		`{"jsonrpc":"2.0","id":"srv-1","method":"sampling/createMessage","params":{"messages":[{"role":"user","content":{"type":"text","text":"summarise"}}],"maxTokens":10}}`,
		`  {"jsonrpc" : "2.0" , "id" : $ID , "result" : { "contents" : [ ] } }  `,
	}
	c, data := scripted(t, map[string][]string{"resources/read": replies})
	for _, id := range []string{`0`, `"abc"`, `9007199254740993`, `-1.5e3`, `"\u00e9"`} {
		c.send(fmt.Sprintf(readReq, id))
		for _, want := range replies {
			want = strings.ReplaceAll(want, "$ID", id)
			if got := c.recv(); got != want {
				t.Fatalf("id %s: got\n%s\nwant\n%s", id, got, want)
			}
		}
	}
	// A batch of responses (2025-03-26) passes whole.
	batch := `[{"jsonrpc":"2.0","id":1,"result":{"contents":[{"uri":"u","text":"a"}]}},{"jsonrpc":"2.0","id":2,"error":{"code":-32002,"message":"not found","data":{"uri":"x"}}}]`
	c2, _ := scripted(t, map[string][]string{"resources/read": {"@silent"}, "batch": {batch}})
	c2.send(`[` + fmt.Sprintf(readReq, "1") + `,` + fmt.Sprintf(readReq, "2") + `]`)
	c2.send(`{"jsonrpc":"2.0","id":3,"method":"batch"}`)
	if got := c2.recv(); got != batch {
		t.Fatalf("batch changed:\n%s\nwant\n%s", got, batch)
	}
	c.in.Close()
	if code := c.wait(); code != 0 {
		t.Fatalf("exit code %d after the client closed, want 0; stderr %s", code, c.Stderr())
	}
	var reads, logs, sampling int
	for _, r := range readRecords(t, data) {
		switch r.Method {
		case "resources/read":
			reads++
			if r.Kind == ctxguard.KindText && r.SHA256 != sha("hello é\n") {
				t.Errorf("text record sha256 %s, want the decoded text's", r.SHA256)
			}
		case "notifications/message":
			logs++
		case "sampling/createMessage":
			sampling++
		}
	}
	if reads != 5 || logs != 5 || sampling != 5 {
		t.Errorf("records: %d reads, %d logs, %d sampling; want 5 each", reads, logs, sampling)
	}
}

func TestBadInputFromServer(t *testing.T) {
	tests := []struct {
		name   string
		reply  []string
		flags  []string
		check  func(t *testing.T, got string)
		record func(t *testing.T, recs []*ctxguard.Record)
	}{
		{
			name:  "a line that is not JSON is withheld and recorded; the response after it passes",
			reply: []string{`Server started on stdout, oops`, `{"jsonrpc":"2.0","id":$ID,"result":{"contents":[]}}`},
			check: func(t *testing.T, got string) {
				if got != `{"jsonrpc":"2.0","id":7,"result":{"contents":[]}}` {
					t.Fatalf("got %s", got)
				}
			},
			record: func(t *testing.T, recs []*ctxguard.Record) {
				if !hasRecord(recs, func(r *ctxguard.Record) bool {
					return r.Kind == ctxguard.KindUnparsed && r.SHA256 == sha("Server started on stdout, oops")
				}) {
					t.Errorf("no unparsed record for the bad line")
				}
			},
		},
		{
			name:  "a response to an unknown id passes unchanged and is recorded",
			reply: []string{`{"jsonrpc":"2.0","id":999,"result":{"contents":[{"uri":"x","text":"stray"}]}}`, `{"jsonrpc":"2.0","id":$ID,"result":{}}`},
			check: func(t *testing.T, got string) {
				if got != `{"jsonrpc":"2.0","id":999,"result":{"contents":[{"uri":"x","text":"stray"}]}}` {
					t.Fatalf("got %s", got)
				}
			},
			record: func(t *testing.T, recs []*ctxguard.Record) {
				if !hasRecord(recs, func(r *ctxguard.Record) bool { return r.Kind == ctxguard.KindOther && string(r.RequestID) == "999" }) {
					t.Errorf("no record for the stray response")
				}
			},
		},
		{
			name:  "invalid UTF-8 passes byte for byte and the record says so",
			reply: []string{`{"jsonrpc":"2.0","id":$ID,"result":{"contents":[{"uri":"x","text":"bad $FF$FF bytes"}]}}`},
			check: func(t *testing.T, got string) {
				if got != "{\"jsonrpc\":\"2.0\",\"id\":7,\"result\":{\"contents\":[{\"uri\":\"x\",\"text\":\"bad \xff\xff bytes\"}]}}" {
					t.Fatalf("got %q", got)
				}
			},
			record: func(t *testing.T, recs []*ctxguard.Record) {
				if !hasRecord(recs, func(r *ctxguard.Record) bool { return strings.Contains(r.Note, "invalid UTF-8") }) {
					t.Errorf("no record noting invalid UTF-8")
				}
			},
		},
		{
			name:  "a blob that is not base64 passes unchanged and the record says so",
			reply: []string{`{"jsonrpc":"2.0","id":$ID,"result":{"contents":[{"uri":"x","mimeType":"text/plain","blob":"not base64!!"}]}}`},
			check: func(t *testing.T, got string) {
				if !strings.Contains(got, `"blob":"not base64!!"`) {
					t.Fatalf("got %s", got)
				}
			},
			record: func(t *testing.T, recs []*ctxguard.Record) {
				if !hasRecord(recs, func(r *ctxguard.Record) bool {
					return r.Kind == ctxguard.KindBlob && strings.Contains(r.Note, "base64")
				}) {
					t.Errorf("no blob record noting bad base64")
				}
			},
		},
		{
			name:  "a 20 MB response passes whole and is recorded",
			reply: []string{"@big 20000000"},
			check: func(t *testing.T, got string) {
				if len(got) < 20_000_000 {
					t.Fatalf("got %d bytes", len(got))
				}
			},
			record: func(t *testing.T, recs []*ctxguard.Record) {
				if !hasRecord(recs, func(r *ctxguard.Record) bool {
					return r.Size == 20_000_000 && r.SHA256 == sha(strings.Repeat("a", 20_000_000))
				}) {
					t.Errorf("no record of the 20 MB text")
				}
			},
		},
		{
			name:  "a response over the limit is withheld, its request gets an error, and it is recorded",
			reply: []string{"@big 2000000"},
			flags: []string{"--max-message-bytes", "1000000"},
			check: func(t *testing.T, got string) {
				if code := errorCode(t, got); code != ctxguard.CodeMessageTooLarge {
					t.Fatalf("error code %d, want %d", code, ctxguard.CodeMessageTooLarge)
				}
			},
			record: func(t *testing.T, recs []*ctxguard.Record) {
				line := `{"jsonrpc":"2.0","id":7,"result":{"contents":[{"uri":"file:///big","mimeType":"text/plain","text":"` + strings.Repeat("a", 2000000) + `"}]}}`
				if !hasRecord(recs, func(r *ctxguard.Record) bool {
					return r.Kind == ctxguard.KindOversize && r.SHA256 == sha(line) && r.Method == "resources/read"
				}) {
					t.Errorf("no oversize record with the whole frame's checksum")
				}
			},
		},
		{
			name:  "a response with duplicate envelope members is withheld with an error",
			reply: []string{`{"jsonrpc":"2.0","id":$ID,"result":{"contents":[]},"result":{"contents":[{"uri":"x","text":"hidden"}]}}`},
			check: func(t *testing.T, got string) {
				if code := errorCode(t, got); code != ctxguard.CodeAmbiguousMessage {
					t.Fatalf("error code %d, want %d", code, ctxguard.CodeAmbiguousMessage)
				}
			},
		},
		{
			name:  "a respelled id still matches its request: 7.0 is 7",
			reply: []string{`{"jsonrpc":"2.0","id":7.0,"result":{"contents":[{"uri":"x","text":"respelled"}]}}`},
			check: func(t *testing.T, got string) {},
			record: func(t *testing.T, recs []*ctxguard.Record) {
				if !hasRecord(recs, func(r *ctxguard.Record) bool { return r.Method == "resources/read" && r.Kind == ctxguard.KindText }) {
					t.Errorf("the respelled response was not read as resources/read")
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, data := scripted(t, map[string][]string{"resources/read": tt.reply}, tt.flags...)
			c.send(fmt.Sprintf(readReq, "7"))
			tt.check(t, c.recv())
			// The relay still works afterwards.
			c.send(`{"jsonrpc":"2.0","id":8,"method":"ping"}`)
			c.in.Close()
			if code := c.wait(); code != 0 {
				t.Fatalf("exit code %d, want 0; stderr: %s", code, c.Stderr())
			}
			if tt.record != nil {
				tt.record(t, readRecords(t, data))
			}
		})
	}
}

func hasRecord(recs []*ctxguard.Record, f func(*ctxguard.Record) bool) bool {
	for _, r := range recs {
		if f(r) {
			return true
		}
	}
	return false
}

// The server dies in the middle of a request: every pending request gets an
// error, and ctxguard exits with the server's code and says why.
func TestServerExitsMidRequest(t *testing.T) {
	c, _ := scripted(t, map[string][]string{"resources/read": {"@silent"}, "tools/call": {"@exit 3"}})
	c.send(fmt.Sprintf(readReq, "1"))
	c.send(fmt.Sprintf(readReq, `"two"`))
	c.send(`{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"crash"}}`)
	got := map[string]int{}
	for range 3 {
		line := c.recv()
		var m struct {
			ID json.RawMessage `json:"id"`
		}
		json.Unmarshal([]byte(line), &m)
		got[string(m.ID)] = errorCode(t, line)
	}
	for _, id := range []string{`1`, `"two"`, `3`} {
		if got[id] != ctxguard.CodeServerExited {
			t.Errorf("request %s: error code %d, want %d", id, got[id], ctxguard.CodeServerExited)
		}
	}
	if code := c.wait(); code != 3 {
		t.Errorf("exit code %d, want the server's 3", code)
	}
	if !strings.Contains(c.Stderr(), "exited") {
		t.Errorf("stderr does not say the server exited: %s", c.Stderr())
	}
}

// A server that exits 0 with requests pending still makes ctxguard exit
// non-zero.
func TestServerExitsZeroWithPending(t *testing.T) {
	c, _ := scripted(t, map[string][]string{"resources/read": {"@silent"}, "tools/call": {"@exit 0"}})
	c.send(fmt.Sprintf(readReq, "1"))
	c.send(`{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"x"}}`)
	c.recv()
	c.recv()
	if code := c.wait(); code == 0 {
		t.Errorf("exit code 0 with unanswered requests")
	}
}

// The server closes its stdout but keeps running: pending requests get an
// error, the server is stopped, and ctxguard exits.
func TestServerClosesStdout(t *testing.T) {
	c, _ := scripted(t, map[string][]string{"resources/read": {"@silent"}, "tools/call": {"@close-stdout"}}, "--shutdown-timeout", "200ms")
	c.send(fmt.Sprintf(readReq, "1"))
	c.send(`{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"x"}}`)
	for range 2 {
		if code := errorCode(t, c.recv()); code != ctxguard.CodeServerExited {
			t.Fatalf("error code %d", code)
		}
	}
	c.wait()
}

// The client sends garbage: it reaches the server unchanged (which answers
// it or not), and the session goes on.
func TestBadInputFromClient(t *testing.T) {
	c, _ := scripted(t, map[string][]string{"*": {`{"jsonrpc":"2.0","id":$ID,"result":{}}`}})
	c.send(`this is not json`)
	c.send("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"x\xff\"}")
	c.send(`{"jsonrpc":"2.0","id":2,"method":"ping"}`)
	if got := c.recv(); !strings.Contains(got, `"id":1`) {
		t.Fatalf("got %s", got)
	}
	if got := c.recv(); got != `{"jsonrpc":"2.0","id":2,"result":{}}` {
		t.Fatalf("got %s", got)
	}
}

// An oversize request from the client is refused with an error, not
// forwarded.
func TestOversizeRequestFromClient(t *testing.T) {
	c, _ := scripted(t, map[string][]string{"*": {`{"jsonrpc":"2.0","id":$ID,"result":{}}`}}, "--max-message-bytes", "1000")
	c.send(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x","arguments":{"a":"` + strings.Repeat("x", 5000) + `"}}}`)
	if code := errorCode(t, c.recv()); code != ctxguard.CodeMessageTooLarge {
		t.Fatalf("code %d", code)
	}
	c.send(`{"jsonrpc":"2.0","id":2,"method":"ping"}`)
	if got := c.recv(); got != `{"jsonrpc":"2.0","id":2,"result":{}}` {
		t.Fatalf("got %s", got)
	}
}

// SIGTERM to ctxguard reaches the server, and the server's exit status
// (killed by SIGTERM: 143) is passed on.
func TestSignalIsPassedOn(t *testing.T) {
	c, _ := scripted(t, map[string][]string{"*": {`{"jsonrpc":"2.0","id":$ID,"result":{}}`}})
	c.send(`{"jsonrpc":"2.0","id":1,"method":"ping"}`)
	c.recv() // the server is up
	if err := c.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := c.wait(); code != 128+int(syscall.SIGTERM) {
		t.Fatalf("exit code %d, want %d; stderr %s", code, 128+int(syscall.SIGTERM), c.Stderr())
	}
}

// The client closes stdin: the server is asked to exit and ctxguard passes
// its exit code on.
func TestClientClosesStdin(t *testing.T) {
	c, _ := scripted(t, map[string][]string{"*": {`{"jsonrpc":"2.0","id":$ID,"result":{}}`}})
	c.send(`{"jsonrpc":"2.0","id":1,"method":"ping"}`)
	c.recv()
	start := time.Now()
	c.in.Close()
	if code := c.wait(); code != 0 {
		t.Fatalf("exit code %d", code)
	}
	if d := time.Since(start); d > 4*time.Second {
		t.Errorf("took %s to exit; the server should stop at stdin EOF, before any signal", d)
	}
}

// The client stops reading (closes its end of ctxguard's stdout) while it
// still sends: ctxguard says so, stops the server and exits, rather than
// dying of SIGPIPE in the middle of a write.
func TestClientStopsReading(t *testing.T) {
	b, _ := json.Marshal(map[string][]string{"*": {`{"jsonrpc":"2.0","id":$ID,"result":{}}`}})
	script := filepath.Join(t.TempDir(), "script.json")
	if err := os.WriteFile(script, b, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(ctxguardBin, wrapArgs(t.TempDir(), []string{"--shutdown-timeout", "200ms"}, scriptedBin, "-script", script)...)
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	outR, outW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stdout, cmd.Stderr = outW, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	outW.Close()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()

	if _, err := io.WriteString(in, `{"jsonrpc":"2.0","id":1,"method":"ping"}`+"\n"); err != nil {
		t.Fatal(err)
	}
	if line, err := bufio.NewReader(outR).ReadString('\n'); err != nil || !strings.Contains(line, `"id":1`) {
		t.Fatalf("first answer %q, %v", line, err)
	}
	outR.Close()
	// Keep sending until ctxguard leaves; its writes now fail.
	deadline := time.After(20 * time.Second)
	for i := 2; ; i++ {
		select {
		case <-done:
			ws := cmd.ProcessState.Sys().(syscall.WaitStatus)
			if ws.Signaled() {
				t.Fatalf("ctxguard was killed by %v; stderr: %s", ws.Signal(), stderr.String())
			}
			if !strings.Contains(stderr.String(), "stopped reading") {
				t.Errorf("stderr does not say the client stopped reading: %s", stderr.String())
			}
			return
		case <-deadline:
			cmd.Process.Kill()
			t.Fatalf("ctxguard did not exit after the client stopped reading; stderr: %s", stderr.String())
		case <-time.After(10 * time.Millisecond):
			// The server may be gone already: a failed write here is fine.
			_, _ = io.WriteString(in, fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"ping"}`+"\n", i))
		}
	}
}

func TestWrapUsageErrors(t *testing.T) {
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"no command", []string{"wrap"}, "command"},
		{"command not found", []string{"--data-dir", t.TempDir(), "wrap", "--", "/nonexistent/server"}, "start"},
		{"bad durability", []string{"wrap", "--durability", "sometimes", "--", "true"}, "durability"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb strings.Builder
			m := &Main{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb}
			code := m.Run(t.Context(), tt.args)
			if code == 0 || !strings.Contains(errb.String(), tt.want) {
				t.Fatalf("exit %d, stderr %q; want non-zero and a message about %q", code, errb.String(), tt.want)
			}
		})
	}
}
