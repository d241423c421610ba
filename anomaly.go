package ctxguard

// AnomalyRule names an anomaly detection rule. The values are stable: they
// are stored in records, exported, and name the rule's table in the
// configuration ([anomaly.hot_change] …).
type AnomalyRule string

// The anomaly rules.
const (
	// RuleHotChange: a resource that is read often changed (its content
	// hash differs from its last read), weighted by how often it is read.
	RuleHotChange AnomalyRule = "hot_change"
	// RuleChangeBurst: many documents of one server changed within a
	// window.
	RuleChangeBurst AnomalyRule = "change_burst"
	// RuleBulkRead: more items or bytes than allowed in one call or one
	// client session.
	RuleBulkRead AnomalyRule = "bulk_read"
	// RuleOffHours: content read outside the configured hours.
	RuleOffHours AnomalyRule = "off_hours"
	// RuleFirstSeen: a server, or a URI prefix of a server, never seen
	// before.
	RuleFirstSeen AnomalyRule = "first_seen"
	// RuleSizeJump: a document whose size changed by a large factor since
	// its last read.
	RuleSizeJump AnomalyRule = "size_jump"
)

// KindAnomaly is the kind of an anomaly's own record (its Message is
// "anomaly" too): the record is not content but what was unusual about the
// content described by the record with the same request and SHA256.
const KindAnomaly ItemKind = "anomaly"

// Anomaly is what an anomaly rule found unusual in the stream of
// observations. The JSON names are a contract (audit export, SIEMs, the
// webhook): extend, never rename.
type Anomaly struct {
	Rule     AnomalyRule `json:"rule"`
	Severity Severity    `json:"severity"`
	// Key is what the anomaly is about: a URI, a server, a URI prefix or a
	// session, depending on the rule.
	Key string `json:"key"`
	// Detail says, in words, what was unusual.
	Detail string `json:"detail"`
	// Observed is the value the rule measured and Threshold the one it
	// fires at (reads × changes, changes, items or bytes, a size ratio …;
	// Detail names the unit).
	Observed  float64 `json:"observed"`
	Threshold float64 `json:"threshold"`
	// Window is the time span the rule counted over ("24h0m0s"), empty
	// when it counts over none (a call, a session, all history).
	Window string `json:"window,omitempty"`
	// Quarantine is set when the rule's configuration sends the item to the
	// review queue.
	Quarantine bool `json:"quarantine,omitempty"`
}
