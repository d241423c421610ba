// Command ctxguard is the content guard for MCP: an inline filter in front
// of MCP servers that records the provenance of everything they return.
// Run "ctxguard --help" for the commands.
package main

import (
	"context"
	"os"
)

func main() {
	m := &Main{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr}
	os.Exit(m.Run(context.Background(), os.Args[1:]))
}
