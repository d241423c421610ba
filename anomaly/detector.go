package anomaly

import (
	"fmt"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/ctxguard/ctxguard"
)

// Observation is one content item the filter saw: where it came from, when,
// and its checksum and size. It never holds the content.
type Observation struct {
	Time    time.Time
	Server  string
	Session string
	// Message is "response", "request" (from the server) or
	// "notification".
	Message string
	Method  string
	URI     string
	Kind    ctxguard.ItemKind
	Size    int64
	SHA256  string
	// Caller is set when the observation has no session of its own (see
	// sessionless): who called, by which the per-session rules (bulk_read's
	// session limits, off_hours) count instead, a window at a time.
	Caller string
}

// statelessVersion is the protocol revision without sessions.
const statelessVersion = "2026-07-28"

// CallerWindow is what stands for a session for a caller without one: the
// per-session counts of its requests start again after it, and a rule that
// reports once per session reports once per caller and window.
const CallerWindow = time.Hour

// sessionless reports whether the session of o is no client's session but
// one the HTTP proxy made up for a single request (it gives each POST
// without an Mcp-Session-Id a session id of its own): a Streamable HTTP
// request of the stateless revision (2026-07-28), or one whose session the
// filter never saw begin, as no protocol version was negotiated in it (a
// request to a server that hands out no session id, or a session that
// began before the proxy started).
func sessionless(o *ctxguard.Origin) bool {
	return o.Transport == "streamable-http" && (o.ProtocolVersion == "" || o.ProtocolVersion >= statelessVersion)
}

// callerKey names who made a request without a session of its own, per
// server ("sub:alice@kb"): the subject of its bearer token, else the
// token's checksum, else the client's name and version, else "anonymous".
func callerKey(o *ctxguard.Origin) string {
	who := "anonymous"
	switch c := o.Caller; {
	case c != nil && c.Subject != "":
		who = "sub:" + c.Subject
	case c != nil && c.TokenSHA256 != "":
		who = "token:" + c.TokenSHA256
	case o.Client != (ctxguard.Peer{}):
		who = "client:" + o.Client.Name + "/" + o.Client.Version
	}
	return who + "@" + o.Server
}

// FromRecord returns the observation a provenance record describes; ok is
// false for records that describe none (an anomaly's own record, a frame
// the filter could not read).
func FromRecord(r *ctxguard.Record) (o Observation, ok bool) {
	if r.Anomaly != nil || r.Kind == ctxguard.KindAnomaly || r.Kind == ctxguard.KindUnparsed || r.Kind == ctxguard.KindOversize {
		return o, false
	}
	o = Observation{Time: r.Time, Server: r.Server, Session: r.Session, Message: r.Message, Method: r.Method,
		URI: r.URI, Kind: r.Kind, Size: r.Size, SHA256: r.SHA256}
	if sessionless(&r.Origin) {
		o.Caller = callerKey(&r.Origin)
	}
	return o, true
}

// isDocument reports whether o is resource content under a URI: what can
// change, jump in size and have a prefix.
func (o *Observation) isDocument() bool {
	return o.URI != "" && o.SHA256 != "" && (o.Kind == ctxguard.KindText || o.Kind == ctxguard.KindBlob)
}

// isContent reports whether o is content a client reads (not a
// definition, a log line or a progress note): what a bulk read counts.
func (o *Observation) isContent() bool {
	switch o.Kind {
	case ctxguard.KindText, ctxguard.KindBlob, ctxguard.KindImage, ctxguard.KindAudio, ctxguard.KindStructured, ctxguard.KindOther:
		return o.Message == "response"
	}
	return false
}

// Hit is a rule firing on one observation of a batch.
type Hit struct {
	// Index is the observation's position in the batch.
	Index   int
	Anomaly ctxguard.Anomaly
	// Report is set on the hit that stands for the anomaly: it becomes a
	// record, a log line and a webhook. A rule that keeps matching (the
	// rest of a bulk read, every read of a session off hours, each change
	// of a burst) reports once per session, call or window; its other
	// hits are returned only when the rule quarantines, for each matched
	// item to be held.
	Report bool
	// HeldID is set when the item is content a rule held for review
	// before (see MarkHeld): it maps to that queue item instead of a new
	// one, until a reviewer releases it or the document changes again.
	HeldID string
}

// sticky reports whether content a rule held stays held at its next reads:
// the rules about a document's content. The others are about an access
// (a bulk read, the hour, a new server) and hold only the item they fired
// on.
func sticky(r ctxguard.AnomalyRule) bool {
	return r == ctxguard.RuleHotChange || r == ctxguard.RuleSizeJump || r == ctxguard.RuleChangeBurst
}

// Bounds of the detector's memory. Beyond them it forgets: the least
// recently read documents (an eighth at a time), the sessions (and callers)
// used least recently, and it stops learning prefixes.
const (
	MaxDocuments = 100000
	MaxSessions  = 65536
	MaxPrefixes  = 100000
	maxReported  = 4096
)

type docKey struct{ server, uri string }

type prefixKey struct{ server, prefix string }

type docState struct {
	Server  string  `json:"s"`
	URI     string  `json:"u"`
	SHA256  string  `json:"sha"`
	Size    int64   `json:"size"`
	Seen    int64   `json:"seen"` // unix nanoseconds of the last read
	Reads   counter `json:"r"`
	Changes counter `json:"c"`
	// Held is the SHA-256 of content a rule held for review (HeldRule),
	// as queue item HeldID.
	Held     string               `json:"held,omitempty"`
	HeldID   string               `json:"held_id,omitempty"`
	HeldRule ctxguard.AnomalyRule `json:"held_rule,omitempty"`
}

type serverState struct {
	Server  string  `json:"s"`
	First   int64   `json:"first"` // unix nanoseconds
	Changes counter `json:"c"`

	prefixes int // how many are known (derived, not stored)
}

type prefixState struct {
	Server string `json:"s"`
	Prefix string `json:"p"`
	First  int64  `json:"first"`
}

// sessionState is what a session read, in this process only; or a
// caller without a session, within a CallerWindow from start.
type sessionState struct {
	items, bytes     int64
	caller           bool
	start            int64 // unix nanoseconds, of a caller's window
	reportedBulk     bool
	reportedOffHours bool
	// anon marks the scratch state of an observation without a session:
	// nothing is summed over it, and reports are once per hour instead.
	anon bool
}

// Detector runs the rules over observations. It is safe for concurrent
// use; Observe takes one lock for a batch and does no I/O.
type Detector struct {
	rules Rules
	now   func() time.Time

	mu       sync.Mutex
	docs     map[docKey]*docState
	servers  map[string]*serverState
	prefixes map[prefixKey]int64
	born     int64               // unix nanoseconds of the first observation ever; 0 none
	sessions *lru[*sessionState] // by session, or "caller\x00" and caller
	// own are the sessions this detector observed (those of the requests
	// without a session of their own too), by least recent use, so that
	// their records are not learned again when they are read back.
	own       *lru[struct{}]
	reported  map[string]int64
	dirtyDocs map[docKey]struct{}
	dirtySrv  map[string]struct{}
	dirtyPfx  map[prefixKey]struct{}
	dirtyBorn bool

	syncMu sync.Mutex
	cursor uint64
}

// New returns a detector for the rules; now is the clock (time.Now when
// nil). Observations carry their own time, which is what the rules judge.
func New(rules Rules, now func() time.Time) *Detector {
	if now == nil {
		now = time.Now
	}
	return &Detector{rules: rules, now: now,
		docs: map[docKey]*docState{}, servers: map[string]*serverState{}, prefixes: map[prefixKey]int64{},
		sessions: newLRU[*sessionState](MaxSessions), own: newLRU[struct{}](MaxSessions), reported: map[string]int64{},
		dirtyDocs: map[docKey]struct{}{}, dirtySrv: map[string]struct{}{}, dirtyPfx: map[prefixKey]struct{}{}}
}

// Rules returns the detector's rules.
func (d *Detector) Rules() Rules { return d.rules }

// Observe runs the rules over the items of one message (one call's
// response, a notification, a server request), updating the state, and
// returns the hits, nil when nothing fired.
func (d *Detector) Observe(batch []Observation) []Hit {
	d.mu.Lock()
	defer d.mu.Unlock()
	var hits []Hit
	var callItems, callBytes int64
	callReported := false
	for i := range batch {
		o := &batch[i]
		d.touchBorn(o.Time)
		ss := d.session(o)
		hits = d.seen(hits, i, o, ss)
		if r := &d.rules.OffHours; r.Enabled && o.Message == "response" && !r.within(o.Time) {
			report := d.once(ss, &ss.reportedOffHours, ctxguard.RuleOffHours, o.Server, o.Time, time.Hour)
			if report || r.Quarantine {
				loc := r.Location
				if loc == nil {
					loc = time.Local
				}
				t := o.Time.In(loc)
				hits = append(hits, d.hit(i, report, &r.Rule, ctxguard.RuleOffHours, sessionKey(o),
					fmt.Sprintf("read at %s %s, outside the working hours", t.Format("Mon 15:04"), loc),
					float64(t.Hour())+float64(t.Minute())/60, 0, 0))
			}
		}
		if o.isContent() {
			callItems++
			callBytes += o.Size
			ss.items++
			ss.bytes += o.Size
			hits = d.bulk(hits, i, o, ss, callItems, callBytes, &callReported)
		}
		if o.isDocument() {
			hits = d.document(hits, i, o, true)
		}
	}
	return hits
}

// Learn updates the state with an observation made elsewhere (another
// process's record, or a replay), without running the rules on it.
func (d *Detector) Learn(o Observation) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.touchBorn(o.Time)
	d.seen(nil, 0, &o, nil)
	if o.isDocument() {
		d.document(nil, 0, &o, false)
	}
}

// Own reports whether the session's observations were made by this
// detector (so that its records need not be learned again). It knows the
// MaxSessions sessions it observed most recently (every request without a
// session of its own is one), far more than are observed between a record
// being made and being read back by the next Sync.
func (d *Detector) Own(session string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.own.has(session)
}

func (d *Detector) touchBorn(t time.Time) {
	if d.born == 0 || t.UnixNano() < d.born {
		d.born, d.dirtyBorn = t.UnixNano(), true
	}
}

// learned reports whether the first-seen rule is past its learning time.
func (d *Detector) learned(t time.Time) bool {
	return t.UnixNano()-d.born >= int64(d.rules.FirstSeen.LearnFor)
}

// session returns the state of o's session: of its caller for an
// observation without a session of its own, a scratch one for an
// observation without any session. It notes the session as this
// detector's.
func (d *Detector) session(o *Observation) *sessionState {
	if o.Session != "" {
		d.own.put(o.Session, struct{}{})
	}
	key := o.Session
	if o.Caller != "" {
		key = "caller\x00" + o.Caller
	}
	if key == "" {
		return &sessionState{anon: true}
	}
	ss, ok := d.sessions.get(key)
	if !ok || (ss.caller && o.Time.UnixNano()-ss.start >= int64(CallerWindow)) {
		ss = &sessionState{caller: o.Caller != "", start: o.Time.UnixNano()}
		d.sessions.put(key, ss)
	}
	return ss
}

// sessionKey is what names o's session in an anomaly.
func sessionKey(o *Observation) string {
	if o.Caller != "" {
		return o.Caller
	}
	return o.Session
}

// once reports whether an anomaly is to be reported now: the first time
// for the flag's session, or, without a session, once per key and window.
func (d *Detector) once(ss *sessionState, flag *bool, rule ctxguard.AnomalyRule, key string, t time.Time, window time.Duration) bool {
	if ss.anon {
		return d.cooldown(rule, key, t, window)
	}
	if *flag {
		return false
	}
	*flag = true
	return true
}

// cooldown reports whether the rule has not reported key within window,
// and notes that it does now.
func (d *Detector) cooldown(rule ctxguard.AnomalyRule, key string, t time.Time, window time.Duration) bool {
	k := string(rule) + "\x00" + key
	if last, ok := d.reported[k]; ok && t.UnixNano()-last < int64(window) {
		return false
	}
	if len(d.reported) >= maxReported {
		clear(d.reported)
	}
	d.reported[k] = t.UnixNano()
	return true
}

func (d *Detector) hit(i int, report bool, r *Rule, rule ctxguard.AnomalyRule, key, detail string, observed, threshold float64, window time.Duration) Hit {
	a := ctxguard.Anomaly{Rule: rule, Severity: r.Severity, Key: key, Detail: detail, Observed: observed,
		Threshold: threshold, Quarantine: r.Quarantine}
	if window > 0 {
		a.Window = window.String()
	}
	return Hit{Index: i, Anomaly: a, Report: report}
}

// seen runs the first-seen rule: servers, then URI prefixes. ss is nil when
// learning.
func (d *Detector) seen(hits []Hit, i int, o *Observation, ss *sessionState) []Hit {
	r := &d.rules.FirstSeen
	srv := d.servers[o.Server]
	newServer := srv == nil
	if newServer {
		known := len(d.servers)
		srv = &serverState{Server: o.Server, First: o.Time.UnixNano()}
		d.servers[o.Server] = srv
		d.dirtySrv[o.Server] = struct{}{}
		if ss != nil && r.Enabled && d.learned(o.Time) && known >= r.MinKnown {
			hits = append(hits, d.hit(i, true, &r.Rule, ctxguard.RuleFirstSeen, o.Server,
				fmt.Sprintf("server %q seen for the first time (%d server(s) known before)", o.Server, known),
				float64(known), float64(r.MinKnown), 0))
		}
	}
	if r.PrefixDepth <= 0 || !o.isDocument() {
		return hits
	}
	p := Prefix(o.URI, r.PrefixDepth)
	k := prefixKey{o.Server, p}
	if _, ok := d.prefixes[k]; ok || len(d.prefixes) >= MaxPrefixes {
		return hits
	}
	known := srv.prefixes
	d.prefixes[k] = o.Time.UnixNano()
	srv.prefixes++
	d.dirtyPfx[k] = struct{}{}
	if ss != nil && r.Enabled && !newServer && d.learned(o.Time) && known >= r.MinKnown {
		hits = append(hits, d.hit(i, true, &r.Rule, ctxguard.RuleFirstSeen, p,
			fmt.Sprintf("URI prefix %q of server %q seen for the first time (%d prefix(es) of the server known before)", p, o.Server, known),
			float64(known), float64(r.MinKnown), 0))
	}
	return hits
}

// bulk runs the bulk-read rule on a content item, given the call's and the
// session's totals so far.
func (d *Detector) bulk(hits []Hit, i int, o *Observation, ss *sessionState, items, bytes int64, callReported *bool) []Hit {
	r := &d.rules.BulkRead
	if !r.Enabled {
		return hits
	}
	over := func(n, limit int64) bool { return limit > 0 && n > limit }
	callOver := over(items, r.CallItems) || over(bytes, r.CallBytes)
	sessOver := !ss.anon && (over(ss.items, r.SessionItems) || over(ss.bytes, r.SessionBytes))
	if !callOver && !sessOver {
		return hits
	}
	report := false
	scope, n, nb, li, lb := "call", items, bytes, r.CallItems, r.CallBytes
	switch {
	case callOver && !*callReported:
		report, *callReported = true, true
	case sessOver && d.once(ss, &ss.reportedBulk, ctxguard.RuleBulkRead, o.Server, o.Time, time.Hour):
		report = true
		scope, n, nb, li, lb = "session", ss.items, ss.bytes, r.SessionItems, r.SessionBytes
	case !callOver:
		scope, n, nb, li, lb = "session", ss.items, ss.bytes, r.SessionItems, r.SessionBytes
	}
	if !report && !r.Quarantine {
		return hits
	}
	observed, threshold := float64(n), float64(li)
	if !over(n, li) {
		observed, threshold = float64(nb), float64(lb)
	}
	key := sessionKey(o)
	if key == "" {
		key = o.Server
	}
	if scope == "session" && ss.caller {
		scope = "caller without a session, within " + CallerWindow.String() + ","
	}
	return append(hits, d.hit(i, report, &r.Rule, ctxguard.RuleBulkRead, key,
		fmt.Sprintf("one %s read %d item(s), %d byte(s): over the limit of %s item(s), %s byte(s)", scope, n, nb, limitText(li), limitText(lb)),
		observed, threshold, 0))
}

func limitText(n int64) string {
	if n <= 0 {
		return "any"
	}
	return fmt.Sprint(n)
}

// document runs the rules on a read of a document: a change while it is
// read often, a jump in its size, a burst of changes across its server.
func (d *Detector) document(hits []Hit, i int, o *Observation, live bool) []Hit {
	hc, cb, sj := &d.rules.HotChange, &d.rules.ChangeBurst, &d.rules.SizeJump
	k := docKey{o.Server, o.URI}
	ds := d.docs[k]
	if ds == nil {
		if len(d.docs) >= MaxDocuments {
			d.forgetDocuments()
		}
		ds = &docState{Server: o.Server, URI: o.URI, SHA256: o.SHA256, Size: o.Size}
		d.docs[k] = ds
	}
	d.dirtyDocs[k] = struct{}{}
	if ds.Held != "" {
		if ds.Held != o.SHA256 {
			ds.Held, ds.HeldID, ds.HeldRule = "", "", ""
		} else if live {
			hits = append(hits, Hit{Index: i, HeldID: ds.HeldID, Anomaly: ctxguard.Anomaly{Rule: ds.HeldRule,
				Severity: d.severity(ds.HeldRule), Key: o.URI, Quarantine: true,
				Detail: "held for review before, as " + ds.HeldID}})
		}
	}
	defer func() {
		ds.Reads.add(o.Time, hc.Window, 1)
		ds.Seen = max(ds.Seen, o.Time.UnixNano())
	}()
	if ds.SHA256 == "" {
		// Known only as content held for review (MarkHeld, from another
		// process's anomaly): this is its first read here, not a change.
		ds.SHA256, ds.Size = o.SHA256, o.Size
	}
	if ds.SHA256 == o.SHA256 {
		return hits
	}
	reads := ds.Reads.sum(o.Time, hc.Window)
	oldSize := ds.Size
	ds.SHA256, ds.Size = o.SHA256, o.Size
	ds.Changes.add(o.Time, hc.Window, 1)
	srv := d.servers[o.Server]
	srv.Changes.add(o.Time, cb.Window, 1)
	d.dirtySrv[o.Server] = struct{}{}
	if !live {
		return hits
	}
	if hc.Enabled {
		changes := ds.Changes.sum(o.Time, hc.Window)
		score := float64(reads) * float64(changes)
		if int(reads) >= hc.MinReads && score >= hc.Threshold {
			hits = append(hits, d.hit(i, true, &hc.Rule, ctxguard.RuleHotChange, o.URI,
				fmt.Sprintf("changed after %d read(s) within %s (%d change(s) in the window): score reads × changes = %g", reads, hc.Window, changes, score),
				score, hc.Threshold, hc.Window))
		}
	}
	if sj.Enabled {
		lo, hi := min(oldSize, o.Size), max(oldSize, o.Size)
		ratio := math.Inf(1)
		if lo > 0 {
			ratio = float64(hi) / float64(lo)
		}
		if hi-lo >= sj.MinBytes && ratio >= sj.Ratio {
			dir := "grew"
			if o.Size < oldSize {
				dir = "shrank"
			}
			hits = append(hits, d.hit(i, true, &sj.Rule, ctxguard.RuleSizeJump, o.URI,
				fmt.Sprintf("%s from %d to %d bytes since its last read", dir, oldSize, o.Size),
				math.Min(ratio, math.MaxFloat64), sj.Ratio, 0))
		}
	}
	if cb.Enabled {
		n := srv.Changes.sum(o.Time, cb.Window)
		if int(n) >= cb.Threshold {
			report := d.cooldown(ctxguard.RuleChangeBurst, o.Server, o.Time, cb.Window)
			if report || cb.Quarantine {
				hits = append(hits, d.hit(i, report, &cb.Rule, ctxguard.RuleChangeBurst, o.Server,
					fmt.Sprintf("%d document(s) of server %q changed within %s", n, o.Server, cb.Window),
					float64(n), float64(cb.Threshold), cb.Window))
			}
		}
	}
	return hits
}

// MarkHeld notes that the content sha256 of the document uri of server
// was held for review, as queue item id, by a sticky rule: its next reads
// are held as the same item (a hit with HeldID), here and, once they sync,
// in the other processes (which learn it from the anomaly's record).
// A document not read here before stays unread: its next read is its
// first, not a change.
func (d *Detector) MarkHeld(server, uri, sha256, id string, rule ctxguard.AnomalyRule) {
	if !sticky(rule) || uri == "" || id == "" {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	k := docKey{server, uri}
	ds := d.docs[k]
	if ds == nil {
		if len(d.docs) >= MaxDocuments {
			d.forgetDocuments()
		}
		ds = &docState{Server: server, URI: uri}
		d.docs[k] = ds
	}
	ds.Held, ds.HeldID, ds.HeldRule = sha256, id, rule
	d.dirtyDocs[k] = struct{}{}
}

// Released notes that reviewers released the content held for the
// document: its reads pass again.
func (d *Detector) Released(server, uri string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	k := docKey{server, uri}
	if ds := d.docs[k]; ds != nil && ds.Held != "" {
		ds.Held, ds.HeldID, ds.HeldRule = "", "", ""
		d.dirtyDocs[k] = struct{}{}
	}
}

func (d *Detector) severity(r ctxguard.AnomalyRule) ctxguard.Severity {
	switch r {
	case ctxguard.RuleHotChange:
		return d.rules.HotChange.Severity
	case ctxguard.RuleChangeBurst:
		return d.rules.ChangeBurst.Severity
	case ctxguard.RuleSizeJump:
		return d.rules.SizeJump.Severity
	}
	return ctxguard.SeverityMedium
}

// forgetDocuments drops an eighth of the documents, those read longest
// ago first (read before the mean read time), and deletes them from the
// store at the next save.
func (d *Detector) forgetDocuments() {
	if len(d.docs) == 0 {
		return
	}
	var sum float64
	for _, s := range d.docs {
		sum += float64(s.Seen)
	}
	mean := int64(sum / float64(len(d.docs)))
	limit := max(len(d.docs)/8, 1)
	for pass := 0; pass < 2 && limit > 0; pass++ {
		for k, s := range d.docs {
			if limit == 0 {
				break
			}
			if pass == 1 || s.Seen <= mean {
				delete(d.docs, k)
				d.dirtyDocs[k] = struct{}{}
				limit--
			}
		}
	}
}

// Prefix returns the first depth directory segments of uri, with its
// scheme and authority: Prefix("file:///kb/fin/q3.md", 1) is
// "file:///kb/". A URI without "://" has its scheme as its prefix
// ("note:").
func Prefix(uri string, depth int) string {
	if i := strings.IndexAny(uri, "?#"); i >= 0 {
		uri = uri[:i]
	}
	i := strings.Index(uri, "://")
	if i < 0 {
		if j := strings.IndexByte(uri, ':'); j >= 0 {
			return uri[:j+1]
		}
		return ""
	}
	rest := i + 3
	slash := strings.IndexByte(uri[rest:], '/')
	if slash < 0 {
		return uri + "/"
	}
	end := rest + slash + 1 // after the authority's slash
	for range depth {
		j := strings.IndexByte(uri[end:], '/')
		if j < 0 {
			break // the last segment is the document, not a directory
		}
		end += j + 1
	}
	return uri[:end]
}
