package review

import (
	"embed"
	"html/template"
	"net/http"
)

// ui is the web UI: one page and its script and style, no third-party
// code. The page holds no inline script or style, so the strict CSP holds.
//
//go:embed ui/index.html ui/app.js ui/app.css ui/login.html
var ui embed.FS

var loginPage = template.Must(template.ParseFS(ui, "ui/login.html"))

func renderLogin(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	_ = loginPage.Execute(w, struct{ Error string }{msg})
}

func (s *Server) serveIndex(w http.ResponseWriter, r *http.Request) {
	s.serveAsset("index.html", "text/html; charset=utf-8")(w, r)
}

func (s *Server) serveAsset(name, contentType string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		b, err := ui.ReadFile("ui/" + name)
		if err != nil {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", contentType)
		_, _ = w.Write(b)
	}
}
