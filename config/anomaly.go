package config

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/ctxguard/ctxguard"
	"github.com/ctxguard/ctxguard/anomaly"
)

// Anomaly configures anomaly detection on the stream of observations, in
// the filter (wrap, proxy). Each rule has a table of its own; an unset
// setting keeps its default (anomaly.DefaultRules). An anomaly is a record
// of its own (kind "anomaly"), a warning in the log, an event to the
// webhook when one is set, and, for a rule with quarantine = true, the
// item it fired on goes to the review queue.
type Anomaly struct {
	// Enabled turns anomaly detection on (default true).
	Enabled *bool `toml:"enabled"`
	// SyncInterval is how often a running filter reads what other
	// processes observed and saves its own counts to the store (default
	// "1s"). What one process sees of another lags by up to this much.
	SyncInterval Duration `toml:"sync_interval"`
	// Webhook posts every anomaly as JSON to a URL.
	Webhook AnomalyWebhook `toml:"webhook"`

	HotChange   AnomalyHotChange   `toml:"hot_change"`
	ChangeBurst AnomalyChangeBurst `toml:"change_burst"`
	BulkRead    AnomalyBulkRead    `toml:"bulk_read"`
	OffHours    AnomalyOffHours    `toml:"off_hours"`
	FirstSeen   AnomalyFirstSeen   `toml:"first_seen"`
	SizeJump    AnomalySizeJump    `toml:"size_jump"`
}

// AnomalyWebhook is where anomalies are posted: {"event":"anomaly",
// "record":{…}} with the anomaly's record (never content). Delivery is
// asynchronous and best effort: a bounded queue, dropped when full, and
// the events still queued when the process exits are lost (the records
// are not).
type AnomalyWebhook struct {
	// URL is the http(s) endpoint; empty for none. It may carry a token:
	// it is never logged (only its host is).
	URL string `toml:"url"`
	// Timeout bounds one delivery (default "5s").
	Timeout Duration `toml:"timeout"`
	// Queue bounds the events waiting for delivery (default 256).
	Queue int `toml:"queue"`
}

// AnomalyRule is what every rule's table has.
type AnomalyRule struct {
	// Enabled turns the rule on or off (default: on, except off_hours).
	Enabled *bool `toml:"enabled"`
	// Quarantine sends each item the rule fires on to the review queue
	// (default false: reported only).
	Quarantine bool `toml:"quarantine"`
	// Severity of the rule's anomalies: low, medium, high or critical.
	Severity string `toml:"severity"`
}

// AnomalyHotChange: a document that changes while it is read often. The
// score is the reads within the window before the change times the
// changes within the window.
type AnomalyHotChange struct {
	AnomalyRule
	// Window the reads and changes are counted in (default "24h").
	Window Duration `toml:"window"`
	// MinReads is the least reads in the window for a document to count as
	// read often (default 5).
	MinReads *int `toml:"min_reads"`
	// Threshold is the score, reads × changes, at which the rule fires
	// (default 20).
	Threshold *float64 `toml:"threshold"`
}

// AnomalyChangeBurst: many documents of one server changing at once.
type AnomalyChangeBurst struct {
	AnomalyRule
	// Window the changes are counted in (default "1h").
	Window Duration `toml:"window"`
	// Threshold is the changed documents of one server within the window
	// at which the rule fires (default 20).
	Threshold *int `toml:"threshold"`
}

// AnomalyBulkRead: more content than allowed in one call or one client
// session. 0 turns a limit off.
type AnomalyBulkRead struct {
	AnomalyRule
	// CallItems and CallBytes bound one response (defaults 1000 items,
	// 64 MiB).
	CallItems *int64 `toml:"call_items"`
	CallBytes *int64 `toml:"call_bytes"`
	// SessionItems and SessionBytes bound one client session (defaults
	// 10000 items, 512 MiB).
	SessionItems *int64 `toml:"session_items"`
	SessionBytes *int64 `toml:"session_bytes"`
}

// AnomalyOffHours: content read outside the working hours. Off by
// default: turn it on with your hours.
type AnomalyOffHours struct {
	AnomalyRule
	// Hours are the working hours, "HH:MM-HH:MM" each (default
	// ["07:00-20:00"]); a range may run over midnight ("22:00-06:00").
	Hours []string `toml:"hours"`
	// Days are the working days, "mon" … "sun" (default Monday to Friday).
	Days []string `toml:"days"`
	// TimeZone is an IANA zone ("Europe/Berlin"; default "Local", the
	// machine's).
	TimeZone string `toml:"time_zone"`
}

// AnomalyFirstSeen: a server, or a URI prefix of a known server, never
// seen before in the data directory.
type AnomalyFirstSeen struct {
	AnomalyRule
	// LearnFor is how long after the first observation in the data
	// directory the rule only learns (default "24h"), so that a new
	// installation is not flooded.
	LearnFor *Duration `toml:"learn_for"`
	// MinKnown is how many servers (for a new server) or prefixes of the
	// server (for a new prefix) must be known before a new one is an
	// anomaly (default 1).
	MinKnown *int `toml:"min_known"`
	// PrefixDepth is how many directory segments of a URI make its prefix
	// (default 1: file:///kb/fin/q3.md has the prefix file:///kb/); 0
	// checks servers only.
	PrefixDepth *int `toml:"prefix_depth"`
}

// AnomalySizeJump: a document whose size changed by a large factor since
// its last read.
type AnomalySizeJump struct {
	AnomalyRule
	// Ratio is the factor, larger or smaller, at which the rule fires
	// (default 4).
	Ratio *float64 `toml:"ratio"`
	// MinBytes is the least change in bytes that counts (default 8192), so
	// that small documents growing a sentence are not anomalies.
	MinBytes *int64 `toml:"min_bytes"`
}

// On reports whether anomaly detection runs.
func (a *Anomaly) On() bool { return a.Enabled == nil || *a.Enabled }

// Rules returns the rules: the defaults with this section on top.
func (a *Anomaly) Rules() (anomaly.Rules, error) {
	r := anomaly.DefaultRules()
	var errs []error
	rule := func(c *AnomalyRule, into *anomaly.Rule) {
		if c.Enabled != nil {
			into.Enabled = *c.Enabled
		}
		into.Quarantine = c.Quarantine
		if c.Severity != "" {
			into.Severity = ctxguard.Severity(c.Severity)
		}
	}
	rule(&a.HotChange.AnomalyRule, &r.HotChange.Rule)
	rule(&a.ChangeBurst.AnomalyRule, &r.ChangeBurst.Rule)
	rule(&a.BulkRead.AnomalyRule, &r.BulkRead.Rule)
	rule(&a.OffHours.AnomalyRule, &r.OffHours.Rule)
	rule(&a.FirstSeen.AnomalyRule, &r.FirstSeen.Rule)
	rule(&a.SizeJump.AnomalyRule, &r.SizeJump.Rule)

	setDur(&r.HotChange.Window, a.HotChange.Window)
	set(&r.HotChange.MinReads, a.HotChange.MinReads)
	set(&r.HotChange.Threshold, a.HotChange.Threshold)
	setDur(&r.ChangeBurst.Window, a.ChangeBurst.Window)
	set(&r.ChangeBurst.Threshold, a.ChangeBurst.Threshold)
	set(&r.BulkRead.CallItems, a.BulkRead.CallItems)
	set(&r.BulkRead.CallBytes, a.BulkRead.CallBytes)
	set(&r.BulkRead.SessionItems, a.BulkRead.SessionItems)
	set(&r.BulkRead.SessionBytes, a.BulkRead.SessionBytes)
	if d := a.FirstSeen.LearnFor; d != nil {
		r.FirstSeen.LearnFor = d.Duration
	}
	set(&r.FirstSeen.MinKnown, a.FirstSeen.MinKnown)
	set(&r.FirstSeen.PrefixDepth, a.FirstSeen.PrefixDepth)
	set(&r.SizeJump.Ratio, a.SizeJump.Ratio)
	set(&r.SizeJump.MinBytes, a.SizeJump.MinBytes)

	oh := &a.OffHours
	if oh.Hours != nil {
		r.OffHours.Hours = nil
		for _, h := range oh.Hours {
			s, err := parseSpan(h)
			if err != nil {
				errs = append(errs, fmt.Errorf("anomaly.off_hours.hours: %w", err))
				continue
			}
			r.OffHours.Hours = append(r.OffHours.Hours, s)
		}
	}
	if oh.Days != nil {
		r.OffHours.Days = [7]bool{}
		for _, d := range oh.Days {
			wd, ok := weekdays[strings.ToLower(strings.TrimSpace(d))]
			if !ok {
				errs = append(errs, fmt.Errorf("anomaly.off_hours.days: %q is not a day (mon, tue, wed, thu, fri, sat, sun)", d))
				continue
			}
			r.OffHours.Days[wd] = true
		}
	}
	switch tz := oh.TimeZone; tz {
	case "", "Local":
		r.OffHours.Location = time.Local
	default:
		loc, err := time.LoadLocation(tz)
		if err != nil {
			errs = append(errs, fmt.Errorf("anomaly.off_hours.time_zone: %q is not a time zone the system knows (an IANA name such as \"Europe/Berlin\")", tz))
		} else {
			r.OffHours.Location = loc
		}
	}
	if err := errors.Join(errs...); err != nil {
		return r, err
	}
	return r, r.Check()
}

func set[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}

func setDur(dst *time.Duration, v Duration) {
	if v.Duration != 0 {
		*dst = v.Duration
	}
}

var weekdays = map[string]time.Weekday{"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday,
	"wed": time.Wednesday, "thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday}

// parseSpan reads "HH:MM-HH:MM".
func parseSpan(s string) (anomaly.Span, error) {
	from, to, ok := strings.Cut(strings.TrimSpace(s), "-")
	if !ok {
		return anomaly.Span{}, fmt.Errorf("%q is not a range HH:MM-HH:MM", s)
	}
	a, err1 := parseClock(from)
	b, err2 := parseClock(to)
	if err1 != nil || err2 != nil || a == 24*60 {
		return anomaly.Span{}, fmt.Errorf("%q is not a range HH:MM-HH:MM (00:00 to 24:00)", s)
	}
	if a == b {
		return anomaly.Span{}, fmt.Errorf("%q is empty", s)
	}
	return anomaly.Span{From: a, To: b}, nil
}

func parseClock(s string) (int, error) {
	h, m, ok := strings.Cut(strings.TrimSpace(s), ":")
	if !ok || len(m) != 2 {
		return 0, errors.New("not HH:MM")
	}
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if err1 != nil || err2 != nil || hh < 0 || mm < 0 || mm > 59 || hh > 24 || (hh == 24 && mm != 0) {
		return 0, errors.New("not HH:MM")
	}
	return hh*60 + mm, nil
}

func (a *Anomaly) check() error {
	if a.SyncInterval.Duration < 0 {
		return errors.New("anomaly.sync_interval: must not be negative")
	}
	if w := a.Webhook; w.URL != "" {
		u, err := url.Parse(w.URL)
		// The URL is not quoted: it may hold a token.
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return errors.New("anomaly.webhook.url: not an http(s) URL")
		}
	}
	if a.Webhook.Timeout.Duration < 0 || a.Webhook.Queue < 0 {
		return errors.New("anomaly.webhook: timeout and queue must not be negative")
	}
	_, err := a.Rules()
	return err
}
