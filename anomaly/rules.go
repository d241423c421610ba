package anomaly

import (
	"errors"
	"fmt"
	"time"

	"github.com/ctxguard/ctxguard"
)

// Rule is what every rule has: whether it runs, how severe its anomalies
// are, and whether the item it fires on goes to the review queue.
type Rule struct {
	Enabled bool
	// Quarantine sends each item the rule fires on to the review queue, as
	// the policy does with a detector's hit.
	Quarantine bool
	Severity   ctxguard.Severity
}

// HotChange fires when a document changes (its SHA-256 differs from its
// last read) and it was read often before: the score is the reads in the
// window before the change times the changes in the window, this one
// included.
type HotChange struct {
	Rule
	// Window is what reads and changes are counted over.
	Window time.Duration
	// MinReads is the least reads in the window for a document to count
	// as read often.
	MinReads int
	// Threshold is the score (reads × changes) at which the rule fires.
	Threshold float64
}

// ChangeBurst fires when Threshold documents or more of one server changed
// within Window.
type ChangeBurst struct {
	Rule
	Window    time.Duration
	Threshold int
}

// BulkRead fires when one call (one response) or one client session
// carries more content items or bytes than allowed. Zero turns a limit
// off.
type BulkRead struct {
	Rule
	CallItems, SessionItems int64
	CallBytes, SessionBytes int64
}

// Span is a range of minutes since midnight, [From, To). A span with To
// before From runs over midnight.
type Span struct{ From, To int }

func (s Span) covers(m int) bool {
	if s.From <= s.To {
		return m >= s.From && m < s.To
	}
	return m >= s.From || m < s.To
}

// OffHours fires on content read outside the working hours: on a day not
// in Days, or at a time in no span of Hours, in Location.
type OffHours struct {
	Rule
	Hours    []Span
	Days     [7]bool // by time.Weekday
	Location *time.Location
}

// within reports whether t falls in the working hours.
func (o *OffHours) within(t time.Time) bool {
	loc := o.Location
	if loc == nil {
		loc = time.Local
	}
	t = t.In(loc)
	if !o.Days[t.Weekday()] {
		return false
	}
	m := t.Hour()*60 + t.Minute()
	for _, s := range o.Hours {
		if s.covers(m) {
			return true
		}
	}
	return false
}

// FirstSeen fires on a server, or a URI prefix of a known server, never
// seen before in the data directory. It stays quiet while it learns: for
// LearnFor after the first observation ever, and until MinKnown servers
// (for a new server) or prefixes of the server (for a new prefix) are
// known, so that a new installation is not flooded.
type FirstSeen struct {
	Rule
	LearnFor time.Duration
	MinKnown int
	// PrefixDepth is how many directory segments of a URI's path make its
	// prefix: file:///kb/fin/q3.md has the prefix file:///kb/ at depth 1,
	// file:///kb/fin/ at depth 2. Zero checks servers only.
	PrefixDepth int
}

// SizeJump fires when a document changed and its new size is Ratio times
// its last one or more (or a Ratio-th or less), and the sizes differ by
// MinBytes or more.
type SizeJump struct {
	Rule
	Ratio    float64
	MinBytes int64
}

// Rules are every rule's settings.
type Rules struct {
	HotChange   HotChange
	ChangeBurst ChangeBurst
	BulkRead    BulkRead
	OffHours    OffHours
	FirstSeen   FirstSeen
	SizeJump    SizeJump
}

// DefaultRules are the defaults, chosen to stay quiet on a normal session:
//
//	hot_change    on, window 24h, min_reads 5, threshold 20 (a document read
//	              20 times in a day that changes, or 10 times that changes
//	              twice), severity high
//	change_burst  on, 20 documents of one server changed within 1h,
//	              severity high
//	bulk_read     on, 1000 items or 64 MiB in one call, 10000 items or
//	              512 MiB in one session, severity medium
//	off_hours     off (it needs your hours): Monday to Friday 07:00-20:00
//	              local time when turned on, severity low
//	first_seen    on, learns for 24h after the first observation and until
//	              one server (one prefix of the server) is known; prefixes
//	              at depth 1; severity low
//	size_jump     on, a changed document 4 times larger or smaller, by
//	              8 KiB or more, severity medium
//
// No rule quarantines by default: anomalies are records, log lines and
// webhooks until the configuration says otherwise.
func DefaultRules() Rules {
	on := func(s ctxguard.Severity) Rule { return Rule{Enabled: true, Severity: s} }
	return Rules{
		HotChange:   HotChange{Rule: on(ctxguard.SeverityHigh), Window: 24 * time.Hour, MinReads: 5, Threshold: 20},
		ChangeBurst: ChangeBurst{Rule: on(ctxguard.SeverityHigh), Window: time.Hour, Threshold: 20},
		BulkRead: BulkRead{Rule: on(ctxguard.SeverityMedium), CallItems: 1000, CallBytes: 64 << 20,
			SessionItems: 10000, SessionBytes: 512 << 20},
		OffHours: OffHours{Rule: Rule{Severity: ctxguard.SeverityLow}, Hours: []Span{{7 * 60, 20 * 60}},
			Days: [7]bool{false, true, true, true, true, true, false}},
		FirstSeen: FirstSeen{Rule: on(ctxguard.SeverityLow), LearnFor: 24 * time.Hour, MinKnown: 1, PrefixDepth: 1},
		SizeJump:  SizeJump{Rule: on(ctxguard.SeverityMedium), Ratio: 4, MinBytes: 8 << 10},
	}
}

// Check reports settings that cannot work.
func (r *Rules) Check() error {
	var errs []error
	bad := func(rule ctxguard.AnomalyRule, format string, a ...any) {
		errs = append(errs, fmt.Errorf("anomaly.%s: %s", rule, fmt.Sprintf(format, a...)))
	}
	for _, x := range []struct {
		name ctxguard.AnomalyRule
		r    Rule
	}{{ctxguard.RuleHotChange, r.HotChange.Rule}, {ctxguard.RuleChangeBurst, r.ChangeBurst.Rule}, {ctxguard.RuleBulkRead, r.BulkRead.Rule},
		{ctxguard.RuleOffHours, r.OffHours.Rule}, {ctxguard.RuleFirstSeen, r.FirstSeen.Rule}, {ctxguard.RuleSizeJump, r.SizeJump.Rule}} {
		if x.r.Severity.Rank() == 0 {
			bad(x.name, "severity %q is not low, medium, high or critical", x.r.Severity)
		}
	}
	if h := r.HotChange; h.Window <= 0 || h.MinReads < 1 || h.Threshold <= 0 {
		bad(ctxguard.RuleHotChange, "window must be positive, min_reads at least 1 and threshold above 0 (have %v, %d, %v)", h.Window, h.MinReads, h.Threshold)
	}
	if c := r.ChangeBurst; c.Window <= 0 || c.Threshold < 2 {
		bad(ctxguard.RuleChangeBurst, "window must be positive and threshold at least 2 changes (have %v, %d)", c.Window, c.Threshold)
	}
	if b := r.BulkRead; b.CallItems < 0 || b.CallBytes < 0 || b.SessionItems < 0 || b.SessionBytes < 0 {
		bad(ctxguard.RuleBulkRead, "limits must not be negative (0 turns one off)")
	}
	if o := r.OffHours; o.Enabled {
		if len(o.Hours) == 0 {
			bad(ctxguard.RuleOffHours, "hours: at least one range such as \"08:00-18:00\" is needed when the rule is on")
		}
		for _, s := range o.Hours {
			if s.From < 0 || s.From >= 24*60 || s.To < 0 || s.To > 24*60 || s.From == s.To {
				bad(ctxguard.RuleOffHours, "hours: %02d:%02d-%02d:%02d is not a range of the day", s.From/60, s.From%60, s.To/60, s.To%60)
			}
		}
		if o.Days == [7]bool{} {
			bad(ctxguard.RuleOffHours, "days: at least one working day is needed when the rule is on")
		}
	}
	if f := r.FirstSeen; f.LearnFor < 0 || f.MinKnown < 0 || f.PrefixDepth < 0 {
		bad(ctxguard.RuleFirstSeen, "learn_for, min_known and prefix_depth must not be negative")
	}
	if s := r.SizeJump; s.Ratio <= 1 || s.MinBytes < 0 {
		bad(ctxguard.RuleSizeJump, "ratio must be above 1 and min_bytes not negative (have %v, %d)", s.Ratio, s.MinBytes)
	}
	return errors.Join(errs...)
}
