// Command scripted is a misbehaving MCP server for ctxguard's bad-input
// tests. It answers each request line by the script given in -script, a JSON
// object mapping a method to the raw lines to write back, in which $ID is
// replaced by the request's raw id and $FF by the byte 0xff (invalid
// UTF-8, which the JSON script itself cannot hold). Special lines:
//
//	@exit N        exit with code N at once (mid-request)
//	@big N         a resources/read result with N bytes of text
//	@silent        write nothing
//	@close-stdout  close stdout and keep running
//
// Lines under the method "@start" are written at start.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
)

func main() {
	var script map[string][]string
	b, err := os.ReadFile(os.Args[2])
	if err != nil || os.Args[1] != "-script" {
		fmt.Fprintln(os.Stderr, "usage: scripted -script FILE")
		os.Exit(2)
	}
	if err := json.Unmarshal(b, &script); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	out := bufio.NewWriter(os.Stdout)
	emit := func(lines []string, id string) {
		for _, l := range lines {
			f := strings.Fields(l)
			switch {
			case strings.HasPrefix(l, "@exit"):
				out.Flush()
				n, _ := strconv.Atoi(f[1])
				os.Exit(n)
			case strings.HasPrefix(l, "@big"):
				n, _ := strconv.Atoi(f[1])
				fmt.Fprintf(out, `{"jsonrpc":"2.0","id":%s,"result":{"contents":[{"uri":"file:///big","mimeType":"text/plain","text":"%s"}]}}`+"\n", id, strings.Repeat("a", n))
			case l == "@silent":
			case l == "@close-stdout":
				out.Flush()
				os.Stdout.Close()
			default:
				l = strings.ReplaceAll(l, "$FF", "\xff") // a raw invalid UTF-8 byte
				out.WriteString(strings.ReplaceAll(l, "$ID", id) + "\n")
			}
		}
		out.Flush()
	}
	emit(script["@start"], "null")
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 64<<20)
	for in.Scan() {
		var req struct {
			ID     json.RawMessage `json:"id"`
			Method string          `json:"method"`
		}
		if json.Unmarshal(in.Bytes(), &req) != nil || req.Method == "" {
			continue
		}
		lines, ok := script[req.Method]
		if !ok {
			lines = script["*"]
		}
		emit(lines, string(req.ID))
	}
}
