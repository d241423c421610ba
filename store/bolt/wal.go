package bolt

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"syscall"
)

// The write-ahead log holds the records appended since the last checkpoint.
// A bbolt commit is two ordered fdatasyncs (its pages, then its meta page);
// an append to the log is one write and, in strict mode, one fdatasync.
// The records move into bbolt in one transaction at a checkpoint, and the
// log is emptied after that transaction is on disk.
//
// The file is written ahead with zeros (walChunk at a time) and reused
// after a checkpoint rather than truncated: an append then overwrites
// allocated blocks, and its fdatasync writes the data alone, without the
// journal commit that a growing file costs on ext4 and xfs (about one more
// disk flush).
//
// A frame is a 16-byte header (value length, CRC-32C of sequence number
// and value, sequence number; little-endian) and the value, the record as
// JSON. Reading stops at the first frame that is short, too long, fails its
// checksum or does not continue the sequence: a write torn by a crash (no
// caller was told it succeeded), the zeros ahead, or frames left from
// before the last checkpoint, whose sequence numbers are all lower.

// WALSuffix names the log next to the database file.
const WALSuffix = ".wal"

const (
	frameHeader = 16
	// maxFrame bounds one value, so that a damaged length is not taken
	// for an allocation request.
	maxFrame = 64 << 20
	// walChunk is how far ahead the file is allocated.
	walChunk = 1 << 20
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// wal is the open log. It is used with db.mu held.
type wal struct {
	f    *os.File
	sync bool  // fdatasync after each append (strict durability)
	size int64 // the end of the last whole frame: the next append goes here
	// allocated is how much of the file is written (frames or zeros).
	allocated int64
}

// pending is a record in the log and not yet in bbolt.
type pending struct {
	seq   uint64
	value []byte
}

// openWAL opens (creating if needed) the log at path and reads the records
// it holds, which are in sequence order.
func openWAL(path string, sync bool) (*wal, []pending, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, nil, fmt.Errorf("store: open write-ahead log: %w", err)
	}
	w := &wal{f: f, sync: sync}
	if fi, err := f.Stat(); err == nil {
		w.allocated = fi.Size()
	}
	recs, err := w.read()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return w, recs, nil
}

// read returns the log's whole frames and sets size to their end.
func (w *wal) read() ([]pending, error) {
	r := bufio.NewReaderSize(io.NewSectionReader(w.f, 0, 1<<62), 64<<10)
	var (
		recs []pending
		head [frameHeader]byte
		end  int64
	)
	for {
		if _, err := io.ReadFull(r, head[:]); err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				break
			}
			return nil, fmt.Errorf("store: read write-ahead log: %w", err)
		}
		n := binary.LittleEndian.Uint32(head[0:4])
		sum := binary.LittleEndian.Uint32(head[4:8])
		seq := binary.LittleEndian.Uint64(head[8:16])
		if n > maxFrame || len(recs) > 0 && seq != recs[len(recs)-1].seq+1 {
			break
		}
		v := make([]byte, n)
		if _, err := io.ReadFull(r, v); err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				break
			}
			return nil, fmt.Errorf("store: read write-ahead log: %w", err)
		}
		if crc32.Update(crc32.Checksum(head[8:16], castagnoli), castagnoli, v) != sum {
			break
		}
		recs = append(recs, pending{seq: seq, value: v})
		end += frameHeader + int64(n)
	}
	w.size = end
	return recs, nil
}

// append writes recs after the last whole frame and, in strict mode, waits
// for them to reach the disk. On error the log's good end does not move:
// the next append overwrites whatever part of recs was written.
func (w *wal) append(recs []pending) error {
	var n int
	for _, p := range recs {
		n += frameHeader + len(p.value)
	}
	buf := make([]byte, 0, n)
	for _, p := range recs {
		var head [frameHeader]byte
		binary.LittleEndian.PutUint32(head[0:4], uint32(len(p.value)))
		binary.LittleEndian.PutUint64(head[8:16], p.seq)
		binary.LittleEndian.PutUint32(head[4:8], crc32.Update(crc32.Checksum(head[8:16], castagnoli), castagnoli, p.value))
		buf = append(append(buf, head[:]...), p.value...)
	}
	if err := w.allocate(w.size + int64(n)); err != nil {
		return err
	}
	if _, err := w.f.WriteAt(buf, w.size); err != nil {
		return fmt.Errorf("store: write-ahead log: %w", err)
	}
	if w.sync {
		if err := fdatasync(w.f); err != nil {
			return fmt.Errorf("store: write-ahead log: %w", err)
		}
	}
	w.size += int64(n)
	return nil
}

// allocate writes zeros ahead of the log's end, so that the file covers
// end, and makes them durable.
func (w *wal) allocate(end int64) error {
	if end <= w.allocated {
		return nil
	}
	grow := (end - w.allocated + walChunk - 1) / walChunk * walChunk
	if _, err := w.f.WriteAt(make([]byte, grow), w.allocated); err != nil {
		// A disk too full for a whole chunk may still take the frames.
		grow = (end - w.allocated + 4095) / 4096 * 4096
		if _, err := w.f.WriteAt(make([]byte, grow), w.allocated); err != nil {
			return fmt.Errorf("store: write-ahead log: %w", err)
		}
	}
	if w.sync {
		if err := fdatasync(w.f); err != nil {
			return fmt.Errorf("store: write-ahead log: %w", err)
		}
	}
	w.allocated += grow
	return nil
}

// reset empties the log once its records are safe in bbolt: the next
// append goes to the start. Nothing need reach the disk: a log that comes
// back after a crash holds only records that bbolt has, which recovery
// skips. A log grown past keep (by checkpoints that failed) is cut back.
func (w *wal) reset(keep int64) error {
	if w.allocated > keep {
		if err := w.f.Truncate(0); err != nil {
			return fmt.Errorf("store: empty write-ahead log: %w", err)
		}
		w.allocated = 0
	}
	w.size = 0
	return nil
}

func (w *wal) close() error { return w.f.Close() }

func fdatasync(f *os.File) error {
	for {
		err := syscall.Fdatasync(int(f.Fd()))
		if err != syscall.EINTR {
			return err
		}
	}
}
