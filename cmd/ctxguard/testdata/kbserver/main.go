// Command kbserver is a small knowledge-base MCP server written with the
// official Go SDK, for ctxguard's end-to-end tests: it serves the files of
// a directory as resources, and a search tool over them.
package main

import (
	"context"
	"flag"
	"log"
	"os"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/ctxguard/ctxguard/demo"
)

func main() {
	dir := flag.String("dir", ".", "directory to serve")
	prefix := flag.String("uri-prefix", "file:///kb/", "URI prefix of the resources")
	flag.Parse()
	s, err := demo.NewServer(os.DirFS(*dir), *prefix)
	if err != nil {
		log.Fatal(err)
	}
	if err := s.Run(context.Background(), &mcp.StdioTransport{}); err != nil {
		log.Fatal(err)
	}
}
