package review

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/ctxguard/ctxguard/config"
)

// cookieName names the session cookie.
const cookieName = "ctxguard_review"

// reviewerToken is a reviewer's token as its SHA-256, so that comparing a
// presented token takes the same time whatever its length.
type reviewerToken struct {
	name string
	sum  [32]byte
}

func newReviewerToken(r config.Reviewer) reviewerToken {
	return reviewerToken{name: r.Name, sum: sha256.Sum256([]byte(r.Token))}
}

// match returns the reviewer whose token this is. It compares with every
// configured token, in constant time, whether or not one matched.
func (s *Server) match(token string) (string, bool) {
	if token == "" {
		return "", false
	}
	sum := sha256.Sum256([]byte(token))
	name, found := "", 0
	for _, t := range s.tokens {
		eq := subtle.ConstantTimeCompare(sum[:], t.sum[:])
		if eq == 1 {
			name = t.name
		}
		found |= eq
	}
	return name, found == 1
}

// session is one sign-in in a browser.
type session struct {
	id       string
	reviewer string
	csrf     string
	expires  time.Time
}

// checkCSRF reports whether r carries the session's CSRF token, in the
// X-CSRF-Token header or a form's csrf_token field.
func (ss *session) checkCSRF(r *http.Request) bool {
	got := r.Header.Get("X-CSRF-Token")
	if got == "" && strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		r.Body = http.MaxBytesReader(nil, r.Body, 64<<10)
		got = r.PostFormValue("csrf_token")
	}
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(ss.csrf)) == 1
}

// identity is who made a request: a reviewer with a browser session, or
// with a bearer token (session nil).
type identity struct {
	name    string
	session *session
}

type reviewerKey struct{}

func reviewerOf(r *http.Request) *identity {
	id, _ := r.Context().Value(reviewerKey{}).(*identity)
	return id
}

func randomToken() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func (s *Server) newSession(reviewer string) *session {
	now := time.Now()
	ss := &session{id: randomToken(), reviewer: reviewer, csrf: randomToken(), expires: now.Add(s.opts.SessionTTL)}
	s.sessMu.Lock()
	defer s.sessMu.Unlock()
	for id, old := range s.sessions {
		if now.After(old.expires) {
			delete(s.sessions, id)
		}
	}
	s.sessions[ss.id] = ss
	return ss
}

// sessionOf returns r's valid session, if any.
func (s *Server) sessionOf(r *http.Request) *session {
	c, err := r.Cookie(cookieName)
	if err != nil || c.Value == "" {
		return nil
	}
	return s.lookupSession(c.Value)
}

func (s *Server) lookupSession(id string) *session {
	s.sessMu.Lock()
	defer s.sessMu.Unlock()
	ss := s.sessions[id]
	if ss == nil {
		return nil
	}
	if time.Now().After(ss.expires) {
		delete(s.sessions, id)
		return nil
	}
	return ss
}

func (s *Server) endSession(id string) {
	s.sessMu.Lock()
	delete(s.sessions, id)
	s.sessMu.Unlock()
	s.live.endSession(id)
}

// authenticate returns who made r, or answers it (401, or a redirect to
// the sign-in page) and returns false. A bearer token is accepted on the
// API only; pages need a session.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request) (*identity, bool) {
	api := strings.HasPrefix(r.URL.Path, "/api/")
	if h := r.Header.Get("Authorization"); h != "" {
		token, ok := strings.CutPrefix(h, "Bearer ")
		if ok && api {
			if name, ok := s.checkToken(r, strings.TrimSpace(token), "bearer token"); ok {
				return &identity{name: name}, true
			}
		} else {
			s.checkToken(r, "", "bearer token on a page")
		}
		w.Header().Set("WWW-Authenticate", `Bearer realm="ctxguard review"`)
		httpError(w, r, http.StatusUnauthorized, "wrong or unusable bearer token")
		return nil, false
	}
	if ss := s.sessionOf(r); ss != nil {
		return &identity{name: ss.reviewer, session: ss}, true
	}
	if !api && r.Method == http.MethodGet {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return nil, false
	}
	httpError(w, r, http.StatusUnauthorized, "sign in first (or send Authorization: Bearer TOKEN)")
	return nil, false
}

// checkToken returns the reviewer whose token this is. Tokens are checked
// one at a time, and a wrong one is logged (never the token) and holds
// the next check back for LoginDelay: however many guesses arrive at
// once, at most one per LoginDelay is tried.
func (s *Server) checkToken(r *http.Request, token, how string) (string, bool) {
	select {
	case s.checking <- struct{}{}:
	case <-r.Context().Done():
		return "", false
	}
	defer func() { <-s.checking }()
	if name, ok := s.match(token); ok {
		return name, true
	}
	s.log.Warn("review: failed sign-in", "with", how, "remote", r.RemoteAddr, "path", r.URL.Path, "user_agent", clip(r.UserAgent(), 120))
	t := time.NewTimer(s.opts.LoginDelay)
	defer t.Stop()
	select {
	case <-t.C:
	case <-r.Context().Done():
	}
	return "", false
}

// sameOrigin reports whether a state-changing request comes from this
// origin as far as the browser says: Sec-Fetch-Site, when sent, must be
// same-origin (or none: typed by the user), and Origin, when sent, must
// name this host. Under Referrer-Policy: no-referrer a browser sends
// "Origin: null" with a form's POST, so null passes only when
// Sec-Fetch-Site vouches for the request. Requests with neither header
// (scripts) pass here and still need a token.
func sameOrigin(r *http.Request) bool {
	site := r.Header.Get("Sec-Fetch-Site")
	switch site {
	case "", "same-origin", "none":
	default:
		return false
	}
	switch o := r.Header.Get("Origin"); o {
	case "":
	case "null":
		return site == "same-origin"
	default:
		u, err := url.Parse(o)
		if err != nil || u.Host == "" || !strings.EqualFold(u.Host, r.Host) {
			return false
		}
	}
	return true
}

func (s *Server) serveLogin(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		if s.sessionOf(r) != nil {
			http.Redirect(w, r, "/", http.StatusSeeOther)
			return
		}
		renderLogin(w, http.StatusOK, "")
	case http.MethodPost:
		r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
		name, ok := s.checkToken(r, r.PostFormValue("token"), "sign-in form")
		if !ok {
			renderLogin(w, http.StatusUnauthorized, "That token is not a reviewer's token.")
			return
		}
		if old := s.sessionOf(r); old != nil {
			s.endSession(old.id)
		}
		ss := s.newSession(name)
		http.SetCookie(w, &http.Cookie{
			Name:     cookieName,
			Value:    ss.id,
			Path:     "/",
			MaxAge:   int(s.opts.SessionTTL / time.Second),
			HttpOnly: true,
			Secure:   r.TLS != nil,
			SameSite: http.SameSiteStrictMode,
		})
		s.log.Info("review: signed in", "reviewer", name, "remote", r.RemoteAddr)
		http.Redirect(w, r, "/", http.StatusSeeOther)
	default:
		w.Header().Set("Allow", "GET, POST")
		httpError(w, r, http.StatusMethodNotAllowed, "method not allowed")
	}
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	if who := reviewerOf(r); who.session != nil {
		s.endSession(who.session.id)
	}
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode})
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) whoami(w http.ResponseWriter, r *http.Request) {
	who := reviewerOf(r)
	out := struct {
		Reviewer  string     `json:"reviewer"`
		CSRFToken string     `json:"csrf_token,omitempty"`
		Expires   *time.Time `json:"expires_at,omitempty"`
		FullText  bool       `json:"full_text"`
	}{Reviewer: who.name, FullText: s.opts.Index != nil}
	if who.session != nil {
		out.CSRFToken, out.Expires = who.session.csrf, &who.session.expires
	}
	writeJSON(w, http.StatusOK, out)
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
