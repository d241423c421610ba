package bolt

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"

	bbolt "go.etcd.io/bbolt"

	"github.com/ctxguard/ctxguard"
	"github.com/ctxguard/ctxguard/store"
)

// A commit is one AppendRecords call waiting for its transaction.
type commit struct {
	recs   []*ctxguard.Record
	values [][]byte // the records, encoded before the commit
	done   chan error
	lead   chan struct{} // closed when this call is to commit the queue
}

// maxGroup bounds the records of one group commit, so that one transaction
// stays small next to the page cache.
const maxGroup = 4096

// AppendRecords implements store.Records.
//
// Group commit without a goroutine of its own: the first caller to find no
// commit under way leads, committing everything queued in one transaction;
// callers arriving meanwhile queue, and when the leader is done, the first
// of them leads the next group. A lone writer thus commits in its own
// goroutine, with no handoff on the hot path.
func (db *DB) AppendRecords(ctx context.Context, recs []*ctxguard.Record) error {
	if len(recs) == 0 {
		return nil
	}
	c := &commit{recs: recs, values: make([][]byte, len(recs)), done: make(chan error, 1), lead: make(chan struct{})}
	for i, r := range recs {
		// Seq is the key; it is not stored twice.
		v, err := json.Marshal(r)
		if err != nil {
			return fmt.Errorf("store: encode record: %w", err)
		}
		c.values[i] = v
	}
	db.qmu.Lock()
	if db.closed {
		db.qmu.Unlock()
		return store.ErrClosed
	}
	db.active.Add(1)
	defer db.active.Done()
	db.queue = append(db.queue, c)
	lead := !db.leading
	db.leading = true
	db.qmu.Unlock()

	// Once queued, the commit happens whatever the caller's context says:
	// waiting for it is what makes the write durable before the caller
	// goes on.
	if !lead {
		select {
		case err := <-c.done:
			return err
		case <-c.lead:
		}
	}
	db.qmu.Lock()
	group, n := 0, 0
	for group < len(db.queue) && (group == 0 || n+len(db.queue[group].recs) <= maxGroup) {
		n += len(db.queue[group].recs)
		group++
	}
	batch := db.queue[:group:group]
	db.queue = db.queue[group:]
	db.qmu.Unlock()

	db.commitGroup(batch)

	db.qmu.Lock()
	if len(db.queue) > 0 {
		close(db.queue[0].lead)
	} else {
		db.leading = false
	}
	db.qmu.Unlock()
	return <-c.done
}

// commitGroup appends the group's records to the write-ahead log, in one
// write and (strict) one fdatasync, and checkpoints when the log is due.
func (db *DB) commitGroup(group []*commit) {
	err := db.with(func(*bbolt.DB) error {
		var recs []pending
		seq := db.lastSeq
		for _, c := range group {
			for _, v := range c.values {
				seq++
				recs = append(recs, pending{seq: seq, value: v})
			}
		}
		if err := db.log.append(recs); err != nil {
			return err
		}
		db.lastSeq = seq
		db.pending = append(db.pending, recs...)
		i := 0
		for _, c := range group {
			for _, r := range c.recs {
				r.Seq = recs[i].seq
				i++
			}
		}
		// The records are safe in the log either way. A checkpoint moves
		// them into bbolt in the background; should the log outgrow
		// moves by far (appends faster than bbolt takes them), appends
		// wait for one, so that the log and memory stay bounded.
		switch {
		case db.log.size >= db.checkpointAt+backlogCheckpoints*db.opts.CheckpointBytes:
			_ = db.checkpoint()
		case db.log.size >= db.checkpointAt && db.moving == nil:
			db.startMove()
		}
		return nil
	})
	if err != nil {
		err = fmt.Errorf("store: append records: %w", err)
	}
	for _, c := range group {
		c.done <- err
	}
}

// backlogCheckpoints is how many checkpoints' worth of records the log may hold
// beyond the one due before appends wait for a checkpoint.
const backlogCheckpoints = 4

func seqKey(seq uint64) []byte { return binary.BigEndian.AppendUint64(make([]byte, 0, 8), seq) }

// scanChunk bounds how many records one read transaction collects.
const scanChunk = 1024

// ScanRecords implements store.Records.
func (db *DB) ScanRecords(ctx context.Context, q store.RecordQuery, fn func(*ctxguard.Record) error) error {
	after := q.AfterSeq
	if q.Last > 0 {
		err := db.view(func(tx *bbolt.Tx) error {
			// The newest records are in the log, then in bbolt.
			need := q.Last
			if p := len(db.pending); p > 0 {
				if need <= p {
					after = max(after, db.pending[p-need].seq-1)
					return nil
				}
				need -= p
			}
			// The newest record in bbolt alone: a checkpoint moving
			// in the background may have put the log's first ones
			// there too.
			c := tx.Bucket(bucketRecords).Cursor()
			k, _ := c.Last()
			if p := len(db.pending); p > 0 {
				if k, _ = c.Seek(seqKey(db.pending[0].seq)); k != nil {
					k, _ = c.Prev()
				} else {
					k, _ = c.Last()
				}
			}
			for i := 1; i < need && k != nil; i++ {
				k, _ = c.Prev()
			}
			if k != nil {
				after = max(after, binary.BigEndian.Uint64(k)-1)
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	emitted := 0
	for {
		if err := ctxErr(ctx); err != nil {
			return err
		}
		var chunk []*ctxguard.Record
		err := db.view(func(tx *bbolt.Tx) error {
			c := tx.Bucket(bucketRecords).Cursor()
			last := after
			for k, v := c.Seek(seqKey(after + 1)); k != nil && len(chunk) < scanChunk; k, v = c.Next() {
				r, err := decodeRecord(binary.BigEndian.Uint64(k), v)
				if err != nil {
					return err
				}
				chunk = append(chunk, r)
				last = r.Seq
			}
			// Then the records still in the write-ahead log, all newer.
			for _, p := range db.pending {
				if len(chunk) >= scanChunk {
					break
				}
				if p.seq > last {
					r, err := decodeRecord(p.seq, p.value)
					if err != nil {
						return err
					}
					chunk = append(chunk, r)
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, r := range chunk {
			after = r.Seq
			if !q.Since.IsZero() && r.Time.Before(q.Since) {
				continue
			}
			if !q.Until.IsZero() && !r.Time.Before(q.Until) {
				continue
			}
			if err := fn(r); err != nil {
				return err
			}
			emitted++
			if q.Limit > 0 && emitted >= q.Limit {
				return nil
			}
		}
		if q.Progress != nil {
			q.Progress(after)
		}
		if len(chunk) < scanChunk {
			return nil
		}
	}
}

func decodeRecord(seq uint64, v []byte) (*ctxguard.Record, error) {
	r := new(ctxguard.Record)
	if err := json.Unmarshal(v, r); err != nil {
		return nil, fmt.Errorf("store: record %d is damaged: %w", seq, err)
	}
	r.Seq = seq // the key; it is not stored twice
	return r, nil
}
