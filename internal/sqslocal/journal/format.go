package journal

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
)

// FormatVersion is the version of the file format this package writes and
// reads.
const FormatVersion = 1

// MaxRecordSize is the largest record the journal accepts. A frame claiming
// a longer payload is treated as corruption.
const MaxRecordSize = 64 << 20

const (
	headerSize      = 24
	frameHeaderSize = 8
	magic           = "CFJRNL"
	kindLog         = 'L'
	kindSnapshot    = 'S'
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// appendHeader appends the file header for a file of the given kind and
// generation to b.
func appendHeader(b []byte, kind byte, gen uint64) []byte {
	start := len(b)
	b = append(b, magic...)
	b = append(b, kind, 0)
	b = binary.LittleEndian.AppendUint32(b, FormatVersion)
	b = binary.LittleEndian.AppendUint64(b, gen)
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b[start:], castagnoli))
}

// checkHeader reads the header of the file at path and checks that it is a
// current-version file of the given kind and generation.
func checkHeader(f *os.File, path string, kind byte, gen uint64) error {
	var h [headerSize]byte
	if _, err := f.ReadAt(h[:], 0); err != nil {
		if errors.Is(err, io.EOF) {
			return fmt.Errorf("%s: short header: %w", path, ErrCorrupt)
		}
		return fmt.Errorf("read header of %s: %w", path, err)
	}
	if string(h[:6]) != magic {
		return fmt.Errorf("%s: not a journal file: %w", path, ErrCorrupt)
	}
	// The version is checked before the checksum: a future version may lay
	// out the rest of its header differently.
	if v := binary.LittleEndian.Uint32(h[8:]); v != FormatVersion {
		return fmt.Errorf("%s: format version %d, want %d: %w", path, v, FormatVersion, ErrUnsupportedVersion)
	}
	if crc32.Checksum(h[:20], castagnoli) != binary.LittleEndian.Uint32(h[20:]) {
		return fmt.Errorf("%s: header checksum mismatch: %w", path, ErrCorrupt)
	}
	if h[6] != kind {
		return fmt.Errorf("%s: file kind %q, want %q: %w", path, h[6], kind, ErrCorrupt)
	}
	if g := binary.LittleEndian.Uint64(h[12:]); g != gen {
		return fmt.Errorf("%s: header generation %d, file name says %d: %w", path, g, gen, ErrCorrupt)
	}
	return nil
}

// frameHeader returns the length and checksum that precede rec in a frame.
func frameHeader(rec []byte) [frameHeaderSize]byte {
	var h [frameHeaderSize]byte
	binary.LittleEndian.PutUint32(h[:4], uint32(len(rec)))
	crc := crc32.Update(crc32.Checksum(h[:4], castagnoli), castagnoli, rec)
	binary.LittleEndian.PutUint32(h[4:], crc)
	return h
}

// frameReader reads frames from a file whose frames start at off.
type frameReader struct {
	r    *bufio.Reader
	off  int64 // offset of the next frame
	size int64 // file size, so a bogus length never allocates
	buf  []byte
}

func newFrameReader(f *os.File, off int64) (*frameReader, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("stat: %w", err)
	}
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		return nil, fmt.Errorf("seek: %w", err)
	}
	return &frameReader{r: bufio.NewReaderSize(f, 1<<20), off: off, size: fi.Size()}, nil
}

// badFrameError says why the frame at Offset ends the valid part of a file.
type badFrameError struct {
	Offset int64
	Reason string
}

func (e *badFrameError) Error() string {
	return fmt.Sprintf("invalid frame at offset %d: %s", e.Offset, e.Reason)
}

// next returns the next record, which is valid until the following call. It
// returns io.EOF at a clean end of file, a *badFrameError at an invalid
// frame, and any other error when reading fails.
func (fr *frameReader) next() ([]byte, error) {
	left := fr.size - fr.off
	if left == 0 {
		return nil, io.EOF
	}
	if left < frameHeaderSize {
		return nil, &badFrameError{fr.off, fmt.Sprintf("partial frame header (%d bytes)", left)}
	}
	var h [frameHeaderSize]byte
	if _, err := io.ReadFull(fr.r, h[:]); err != nil {
		return nil, fr.readErr(err)
	}
	n := binary.LittleEndian.Uint32(h[:4])
	if n > MaxRecordSize {
		return nil, &badFrameError{fr.off, fmt.Sprintf("length %d exceeds %d", n, MaxRecordSize)}
	}
	if int64(n) > left-frameHeaderSize {
		return nil, &badFrameError{fr.off, fmt.Sprintf("partial frame: length %d, %d bytes left", n, left-frameHeaderSize)}
	}
	if cap(fr.buf) < int(n) {
		fr.buf = make([]byte, n)
	}
	rec := fr.buf[:n]
	if _, err := io.ReadFull(fr.r, rec); err != nil {
		return nil, fr.readErr(err)
	}
	if frameHeader(rec) != h {
		return nil, &badFrameError{fr.off, "checksum mismatch"}
	}
	fr.off += frameHeaderSize + int64(n)
	return rec, nil
}

func (fr *frameReader) readErr(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		// The file shrank under us; nothing else writes to it while we
		// hold the lock, so report it as a read failure, not a torn tail.
		return fmt.Errorf("read frame at offset %d: file changed while reading: %w", fr.off, io.ErrUnexpectedEOF)
	}
	return fmt.Errorf("read frame at offset %d: %w", fr.off, err)
}
