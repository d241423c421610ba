package demo

import (
	"context"
	"fmt"
	"io/fs"
	"mime"
	"path"
	"sort"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// NewServer returns an MCP server that serves every file of fsys as a
// resource named uriPrefix + its path, and a search tool over them.
func NewServer(fsys fs.FS, uriPrefix string) (*mcp.Server, error) {
	s := mcp.NewServer(&mcp.Implementation{Name: "ctxguard-demo-kb", Version: "1.0.0"}, &mcp.ServerOptions{
		Instructions: "A knowledge base of Northwind Logistics' internal documents. Use the search tool to find documents, then read them.",
	})
	var names []string
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			names = append(names, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("demo: list documents: %w", err)
	}
	sort.Strings(names)
	for _, name := range names {
		uri := uriPrefix + name
		mt := mimeType(name)
		s.AddResource(&mcp.Resource{URI: uri, Name: name, MIMEType: mt, Description: "Knowledge-base document " + name},
			func(ctx context.Context, req *mcp.ReadResourceRequest) (*mcp.ReadResourceResult, error) {
				b, err := fs.ReadFile(fsys, name)
				if err != nil {
					return nil, mcp.ResourceNotFoundError(req.Params.URI)
				}
				c := &mcp.ResourceContents{URI: uri, MIMEType: mt}
				if strings.HasPrefix(mt, "text/") {
					c.Text = string(b)
				} else {
					c.Blob = b
				}
				return &mcp.ReadResourceResult{Contents: []*mcp.ResourceContents{c}}, nil
			})
	}
	type searchIn struct {
		Query string `json:"query" jsonschema:"words to look for in the documents"`
	}
	mcp.AddTool(s, &mcp.Tool{Name: "search", Description: "Search the knowledge base. Returns the matching lines of each document that contains the query."},
		func(ctx context.Context, req *mcp.CallToolRequest, in searchIn) (*mcp.CallToolResult, any, error) {
			res := &mcp.CallToolResult{}
			q := strings.ToLower(in.Query)
			for _, name := range names {
				b, err := fs.ReadFile(fsys, name)
				if err != nil {
					continue
				}
				var hits []string
				for _, line := range strings.Split(string(b), "\n") {
					if q != "" && strings.Contains(strings.ToLower(line), q) {
						hits = append(hits, line)
					}
				}
				if len(hits) > 0 {
					res.Content = append(res.Content,
						&mcp.TextContent{Text: name + ":\n" + strings.Join(hits, "\n")},
						&mcp.ResourceLink{URI: uriPrefix + name, Name: name})
				}
			}
			if len(res.Content) == 0 {
				res.Content = []mcp.Content{&mcp.TextContent{Text: "no document matches " + in.Query}}
			}
			return res, nil, nil
		})
	return s, nil
}

func mimeType(name string) string {
	switch path.Ext(name) {
	case ".md":
		return "text/markdown"
	case ".txt":
		return "text/plain"
	}
	if t := mime.TypeByExtension(path.Ext(name)); t != "" {
		return t
	}
	return "application/octet-stream"
}
