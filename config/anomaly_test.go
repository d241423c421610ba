package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ctxguard/ctxguard/anomaly"
)

// example.toml spells out every default of [anomaly]: read, it gives the
// same rules as no section at all.
func TestAnomalyExampleIsTheDefaults(t *testing.T) {
	c, err := Load("example.toml")
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.Anomaly.Rules()
	if err != nil {
		t.Fatal(err)
	}
	want, err := (&Anomaly{}).Rules()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("example.toml's [anomaly] is not the defaults:\n got %+v\nwant %+v", got, want)
	}
	if def := anomaly.DefaultRules(); got.HotChange != def.HotChange || got.SizeJump != def.SizeJump || got.BulkRead != def.BulkRead {
		t.Fatalf("defaults differ from anomaly.DefaultRules: %+v", got)
	}
	if !c.Anomaly.On() || c.Anomaly.Webhook.URL != "" {
		t.Fatalf("example: on=%v webhook=%q", c.Anomaly.On(), c.Anomaly.Webhook.URL)
	}
}

func TestAnomalyConfig(t *testing.T) {
	tests := []struct {
		name    string
		toml    string
		wantErr string
		check   func(t *testing.T, r anomaly.Rules, a *Anomaly)
	}{
		{name: "thresholds, windows and quarantine per rule", toml: `
[anomaly.hot_change]
window = "2h"
min_reads = 3
threshold = 6
quarantine = true
severity = "critical"
[anomaly.change_burst]
enabled = false
[anomaly.bulk_read]
call_items = 0
session_bytes = 1024
[anomaly.first_seen]
learn_for = "0s"
min_known = 0
prefix_depth = 2
[anomaly.size_jump]
ratio = 2.5
min_bytes = 0
`, check: func(t *testing.T, r anomaly.Rules, a *Anomaly) {
			h := r.HotChange
			if h.Window != 2*time.Hour || h.MinReads != 3 || h.Threshold != 6 || !h.Quarantine || h.Severity != "critical" || !h.Enabled {
				t.Errorf("hot_change %+v", h)
			}
			if r.ChangeBurst.Enabled || r.ChangeBurst.Threshold != 20 {
				t.Errorf("change_burst %+v", r.ChangeBurst)
			}
			if b := r.BulkRead; b.CallItems != 0 || b.SessionBytes != 1024 || b.CallBytes != 64<<20 {
				t.Errorf("bulk_read %+v", b)
			}
			if f := r.FirstSeen; f.LearnFor != 0 || f.MinKnown != 0 || f.PrefixDepth != 2 {
				t.Errorf("first_seen %+v", f)
			}
			if s := r.SizeJump; s.Ratio != 2.5 || s.MinBytes != 0 || s.Quarantine {
				t.Errorf("size_jump %+v", s)
			}
		}},
		{name: "working hours in a zone", toml: `
[anomaly.off_hours]
enabled = true
hours = ["08:30-12:00", "22:00-06:00"]
days = ["Mon", "sat"]
time_zone = "UTC"
`, check: func(t *testing.T, r anomaly.Rules, _ *Anomaly) {
			o := r.OffHours
			if !o.Enabled || len(o.Hours) != 2 || o.Hours[0] != (anomaly.Span{From: 510, To: 720}) || o.Hours[1] != (anomaly.Span{From: 1320, To: 360}) {
				t.Errorf("hours %+v", o.Hours)
			}
			if o.Days != [7]bool{false, true, false, false, false, false, true} || o.Location != time.UTC {
				t.Errorf("days %v zone %v", o.Days, o.Location)
			}
		}},
		{name: "off entirely", toml: "[anomaly]\nenabled = false\n", check: func(t *testing.T, _ anomaly.Rules, a *Anomaly) {
			if a.On() {
				t.Error("enabled = false left it on")
			}
		}},
		{name: "webhook", toml: "[anomaly.webhook]\nurl = \"https://hooks.example/T/abc\"\ntimeout = \"2s\"\nqueue = 8\n",
			check: func(t *testing.T, _ anomaly.Rules, a *Anomaly) {
				if a.Webhook.URL != "https://hooks.example/T/abc" || a.Webhook.Timeout.Duration != 2*time.Second || a.Webhook.Queue != 8 {
					t.Errorf("webhook %+v", a.Webhook)
				}
			}},
		{name: "a typo is an error", toml: "[anomaly.hot_change]\nthreshhold = 3\n", wantErr: "unknown setting anomaly.hot_change.threshhold"},
		{name: "bad window", toml: "[anomaly.change_burst]\nwindow = \"soon\"\n", wantErr: "invalid duration"},
		{name: "min_reads 0", toml: "[anomaly.hot_change]\nmin_reads = 0\n", wantErr: "anomaly.hot_change: window must be positive, min_reads at least 1"},
		{name: "burst of one", toml: "[anomaly.change_burst]\nthreshold = 1\n", wantErr: "anomaly.change_burst: window must be positive and threshold at least 2"},
		{name: "negative limit", toml: "[anomaly.bulk_read]\ncall_bytes = -1\n", wantErr: "anomaly.bulk_read: limits must not be negative"},
		{name: "ratio 1", toml: "[anomaly.size_jump]\nratio = 1\n", wantErr: "anomaly.size_jump: ratio must be above 1"},
		{name: "severity", toml: "[anomaly.first_seen]\nseverity = \"urgent\"\n", wantErr: `anomaly.first_seen: severity "urgent" is not low, medium, high or critical`},
		{name: "hours", toml: "[anomaly.off_hours]\nenabled = true\nhours = [\"9-17\"]\n", wantErr: `anomaly.off_hours.hours: "9-17" is not a range HH:MM-HH:MM`},
		{name: "hours past midnight", toml: "[anomaly.off_hours]\nhours = [\"08:00-24:30\"]\n", wantErr: "anomaly.off_hours.hours"},
		{name: "no hours", toml: "[anomaly.off_hours]\nenabled = true\nhours = []\n", wantErr: "anomaly.off_hours: hours: at least one range"},
		{name: "day", toml: "[anomaly.off_hours]\ndays = [\"monday\"]\n", wantErr: `anomaly.off_hours.days: "monday" is not a day`},
		{name: "zone", toml: "[anomaly.off_hours]\ntime_zone = \"Mars/Olympus\"\n", wantErr: `anomaly.off_hours.time_zone: "Mars/Olympus" is not a time zone`},
		{name: "negative learning", toml: "[anomaly.first_seen]\nlearn_for = \"-1h\"\n", wantErr: "anomaly.first_seen: learn_for, min_known and prefix_depth must not be negative"},
		{name: "webhook URL not quoted", toml: "[anomaly.webhook]\nurl = \"hooks.example/secret-token\"\n", wantErr: "anomaly.webhook.url: not an http(s) URL"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "c.toml")
			if err := os.WriteFile(p, []byte(tc.toml), 0o600); err != nil {
				t.Fatal(err)
			}
			c, err := Load(p)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Load = %v, want an error saying %q", err, tc.wantErr)
				}
				if strings.Contains(err.Error(), "secret-token") {
					t.Fatalf("the error quotes the webhook URL: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			r, err := c.Anomaly.Rules()
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, r, &c.Anomaly)
		})
	}
}
