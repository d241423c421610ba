package anomaly

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// The keys of the stored entries: a letter for the kind, then the server's
// length, so that no server name and URI can make two keys equal.
func docKeyString(k docKey) string { return "d" + strconv.Itoa(len(k.server)) + ":" + k.server + k.uri }
func serverKeyString(s string) string {
	return "s" + strconv.Itoa(len(s)) + ":" + s
}
func prefixKeyString(k prefixKey) string {
	return "p" + strconv.Itoa(len(k.server)) + ":" + k.server + k.prefix
}

const bornKey = "born"

// takeDirty returns the entries changed since the last call, encoded for
// the store (nil for a deleted one), and forgets that they changed; give
// them back with markDirty when they could not be saved.
func (d *Detector) takeDirty() map[string][]byte {
	d.mu.Lock()
	defer d.mu.Unlock()
	n := len(d.dirtyDocs) + len(d.dirtySrv) + len(d.dirtyPfx)
	if n == 0 && !d.dirtyBorn {
		return nil
	}
	out := make(map[string][]byte, n+1)
	put := func(key string, v any) {
		b, _ := json.Marshal(v) // plain structs: cannot fail
		out[key] = b
	}
	for k := range d.dirtyDocs {
		if s := d.docs[k]; s != nil {
			put(docKeyString(k), s)
		} else {
			out[docKeyString(k)] = nil
		}
	}
	for k := range d.dirtySrv {
		if s := d.servers[k]; s != nil {
			put(serverKeyString(k), s)
		}
	}
	for k := range d.dirtyPfx {
		if t, ok := d.prefixes[k]; ok {
			put(prefixKeyString(k), prefixState{Server: k.server, Prefix: k.prefix, First: t})
		}
	}
	if d.dirtyBorn {
		out[bornKey] = strconv.AppendInt(nil, d.born, 10)
	}
	clear(d.dirtyDocs)
	clear(d.dirtySrv)
	clear(d.dirtyPfx)
	d.dirtyBorn = false
	return out
}

// markDirty gives back entries takeDirty returned that were not saved: the
// next save writes them (as they are by then).
func (d *Detector) markDirty(entries map[string][]byte) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for key, v := range entries {
		switch {
		case key == bornKey:
			d.dirtyBorn = true
		case strings.HasPrefix(key, "d"):
			var s docState
			if v == nil {
				// A deleted document: its key cannot be parsed back
				// without the server's length, so decode it.
				if k, ok := parseDocKey(key); ok {
					d.dirtyDocs[k] = struct{}{}
				}
				continue
			}
			if json.Unmarshal(v, &s) == nil {
				d.dirtyDocs[docKey{s.Server, s.URI}] = struct{}{}
			}
		case strings.HasPrefix(key, "s"):
			var s serverState
			if json.Unmarshal(v, &s) == nil {
				d.dirtySrv[s.Server] = struct{}{}
			}
		case strings.HasPrefix(key, "p"):
			var p prefixState
			if json.Unmarshal(v, &p) == nil {
				d.dirtyPfx[prefixKey{p.Server, p.Prefix}] = struct{}{}
			}
		}
	}
}

func parseDocKey(key string) (docKey, bool) {
	n, rest, ok := strings.Cut(key[1:], ":")
	if !ok {
		return docKey{}, false
	}
	l, err := strconv.Atoi(n)
	if err != nil || l < 0 || l > len(rest) {
		return docKey{}, false
	}
	return docKey{rest[:l], rest[l:]}, true
}

// load restores one stored entry. An entry that cannot be read is an
// error: the caller decides whether to go on without it.
func (d *Detector) load(key string, v []byte) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	bad := func(err error) error { return fmt.Errorf("anomaly: stored entry %q: %w", key, err) }
	switch {
	case key == bornKey:
		t, err := strconv.ParseInt(string(v), 10, 64)
		if err != nil {
			return bad(err)
		}
		if d.born == 0 || t < d.born {
			d.born = t
		}
	case strings.HasPrefix(key, "d"):
		s := &docState{}
		if err := json.Unmarshal(v, s); err != nil {
			return bad(err)
		}
		if len(d.docs) < MaxDocuments {
			d.docs[docKey{s.Server, s.URI}] = s
		}
	case strings.HasPrefix(key, "s"):
		s := &serverState{}
		if err := json.Unmarshal(v, s); err != nil {
			return bad(err)
		}
		if old := d.servers[s.Server]; old != nil {
			s.prefixes = old.prefixes
		}
		d.servers[s.Server] = s
	case strings.HasPrefix(key, "p"):
		var p prefixState
		if err := json.Unmarshal(v, &p); err != nil {
			return bad(err)
		}
		k := prefixKey{p.Server, p.Prefix}
		if _, ok := d.prefixes[k]; !ok && len(d.prefixes) < MaxPrefixes {
			d.prefixes[k] = p.First
			srv := d.servers[p.Server]
			if srv == nil {
				// Prefixes sort after servers ("p" < "s" does not hold
				// for every implementation's order): make its server.
				srv = &serverState{Server: p.Server, First: p.First}
				d.servers[p.Server] = srv
			}
			srv.prefixes++
		}
	}
	return nil
}
