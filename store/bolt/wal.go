package bolt

import (
	"bufio"
	"crypto/rand"
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
// log starts again after that transaction is on disk.
//
// The file is written ahead with zeros (walChunk at a time) and reused
// after a checkpoint rather than truncated: an append then overwrites
// allocated blocks, and its fdatasync writes the data alone, without the
// journal commit that a growing file costs on ext4 and xfs (about one more
// disk flush).
//
// The file starts with a header: a magic string and a salt, a random
// number drawn each time the log starts again. A frame is a 16-byte header
// (value length, CRC-32C of salt, sequence number and value; sequence
// number; little-endian) and the value, the record as JSON. Reading stops
// at the first frame that is short, too long, fails its checksum or does
// not continue the sequence: a write torn by a crash (no caller was told it
// succeeded), the zeros ahead, or frames from before the log last started
// again, which the salt rejects even where a torn write left them in place.

// WALSuffix names the log next to the database file.
const WALSuffix = ".wal"

const (
	walMagic    = "ctxgwal1"
	fileHeader  = 16 // magic, salt
	frameHeader = 16 // length, checksum, sequence number
	// maxFrame bounds one value, so that a damaged length is not taken
	// for an allocation request; append refuses larger values.
	maxFrame = 64 << 20
	// walChunk is how far ahead the file is allocated.
	walChunk = 1 << 20
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// wal is the open log. It is used with db.mu held.
type wal struct {
	f    *os.File
	sync bool // fdatasync after each append (strict durability)
	salt uint64
	// headed is set while the file's header holds salt; a failed restart
	// clears it, and appends write the header first.
	headed bool
	// size is the end of the last whole frame: the next append goes here.
	size int64
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
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("store: open write-ahead log: %w", err)
	}
	w := &wal{f: f, sync: sync, allocated: fi.Size()}
	recs, err := w.read()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return w, recs, nil
}

// read returns the log's whole frames and sets size to their end. A file
// without a valid header holds no records: the log starts again.
func (w *wal) read() ([]pending, error) {
	r := bufio.NewReaderSize(io.NewSectionReader(w.f, 0, 1<<62), 64<<10)
	var head [frameHeader]byte
	if _, err := io.ReadFull(r, head[:fileHeader]); err != nil || string(head[:8]) != walMagic {
		if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, fmt.Errorf("store: read write-ahead log: %w", err)
		}
		// On failure the next append writes the header.
		_ = w.restart()
		return nil, nil
	}
	w.salt, w.headed = binary.LittleEndian.Uint64(head[8:16]), true
	var recs []pending
	end := int64(fileHeader)
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
		if w.checksum(seq, v) != sum {
			break
		}
		recs = append(recs, pending{seq: seq, value: v})
		end += frameHeader + int64(n)
	}
	w.size = end
	return recs, nil
}

func (w *wal) checksum(seq uint64, v []byte) uint32 {
	var b [16]byte
	binary.LittleEndian.PutUint64(b[0:8], w.salt)
	binary.LittleEndian.PutUint64(b[8:16], seq)
	return crc32.Update(crc32.Checksum(b[:], castagnoli), castagnoli, v)
}

// append writes recs after the last whole frame and, in strict mode, waits
// for them to reach the disk. On error the log's end does not move, and
// the frame header there is wiped, so that no part of recs is read back.
func (w *wal) append(recs []pending) error {
	if !w.headed {
		if err := w.restart(); err != nil {
			return err
		}
	}
	var n int
	for _, p := range recs {
		if len(p.value) > maxFrame {
			return fmt.Errorf("store: record %d is %d bytes, more than the %d a record may have", p.seq, len(p.value), maxFrame)
		}
		n += frameHeader + len(p.value)
	}
	buf := make([]byte, 0, n)
	for _, p := range recs {
		var head [frameHeader]byte
		binary.LittleEndian.PutUint32(head[0:4], uint32(len(p.value)))
		binary.LittleEndian.PutUint32(head[4:8], w.checksum(p.seq, p.value))
		binary.LittleEndian.PutUint64(head[8:16], p.seq)
		buf = append(append(buf, head[:]...), p.value...)
	}
	if err := w.allocate(w.size + int64(n)); err != nil {
		return err
	}
	_, err := w.f.WriteAt(buf, w.size)
	if err == nil && w.sync {
		err = fdatasync(w.f)
	}
	if err != nil {
		if werr := w.wipe(); werr != nil {
			return fmt.Errorf("store: write-ahead log: %w (and wiping the failed write: %v)", err, werr)
		}
		return fmt.Errorf("store: write-ahead log: %w", err)
	}
	w.size += int64(n)
	return nil
}

// wipe zeros the frame header at the log's end, after a failed append.
func (w *wal) wipe() error {
	if _, err := w.f.WriteAt(make([]byte, frameHeader), w.size); err != nil {
		return err
	}
	if w.sync {
		return fdatasync(w.f)
	}
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
		// A disk too full for a whole chunk may still take the frames;
		// give back what the chunk took first.
		if err := w.f.Truncate(w.allocated); err != nil {
			return fmt.Errorf("store: write-ahead log: %w", err)
		}
		grow = (end - w.allocated + 4095) / 4096 * 4096
		if _, err := w.f.WriteAt(make([]byte, grow), w.allocated); err != nil {
			_ = w.f.Truncate(w.allocated)
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

// restart empties the log under a new salt: the next append goes after
// the header, and no frame written before reads as valid. Nothing need
// reach the disk now: the next append's fdatasync carries the header, and
// until then a log that comes back after a crash holds only records that
// bbolt has, which recovery skips.
func (w *wal) restart() error {
	w.headed, w.size = false, fileHeader
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return fmt.Errorf("store: write-ahead log: %w", err)
	}
	head := append([]byte(walMagic), b[:]...)
	if _, err := w.f.WriteAt(head, 0); err != nil {
		return fmt.Errorf("store: restart write-ahead log: %w", err)
	}
	w.salt, w.headed = binary.LittleEndian.Uint64(b[:]), true
	w.allocated = max(w.allocated, fileHeader)
	return nil
}

// reset starts the log again once its records are safe in bbolt. A log
// grown past keep (by checkpoints that failed) is cut back first.
func (w *wal) reset(keep int64) error {
	if w.allocated > keep {
		if err := w.f.Truncate(0); err != nil {
			return fmt.Errorf("store: empty write-ahead log: %w", err)
		}
		w.allocated = 0
	}
	return w.restart()
}

// empty reports whether the log holds no frame.
func (w *wal) empty() bool { return w.size <= fileHeader }

func (w *wal) close() error { return w.f.Close() }

// fdatasync is a variable so that tests can make the disk fail.
var fdatasync = func(f *os.File) error {
	for {
		err := syscall.Fdatasync(int(f.Fd()))
		if err != syscall.EINTR {
			return err
		}
	}
}
