// Package trace reads cache access traces in their standard formats.
//
// A trace is a sequence of requests, one key each (and, in formats that
// carry it, the object's size). Readers are picked by format name with
// [NewReader]; [Load] opens a file, unwraps gzip when the file starts with
// the gzip magic, and decodes every request.
//
// A reader never returns a silently shortened trace: a file that ends in
// the middle of a record, a malformed line or a corrupt gzip stream is an
// error that names the format and the position.
package trace

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
)

// Request is one access.
type Request struct {
	Key uint64
	// Size is the object's size in bytes; 0 when the format has none.
	Size uint32
}

// Reader yields the requests of a trace in order. Read returns io.EOF after
// the last request and any other error if the input is malformed.
type Reader interface {
	Read() (Request, error)
}

// Format names accepted by NewReader and Load.
const (
	// ARC: text, one `start count ...` line per run of keys start,
	// start+1, ..., start+count-1; fields after count are ignored.
	ARC = "arc"
	// LIRS: text, one integer key per line; other lines are skipped.
	LIRS = "lirs"
	// Int64BE: binary, big-endian 64-bit keys back to back (Corda).
	Int64BE = "int64be"
	// Int32BE: binary, big-endian 32-bit keys back to back (cache2k).
	Int32BE = "int32be"
	// OracleGeneral: libCacheSim's 24-byte little-endian records
	// {u32 time, u64 obj_id, u32 size, i64 next_access_vtime}.
	OracleGeneral = "oracleGeneral"
)

var readers = map[string]func(*bufio.Reader) Reader{
	ARC:           newARC,
	LIRS:          newLIRS,
	Int64BE:       newInt64BE,
	Int32BE:       newInt32BE,
	OracleGeneral: newOracleGeneral,
}

// Formats returns the format names NewReader accepts, sorted.
func Formats() []string {
	names := make([]string, 0, len(readers))
	for n := range readers {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// NewReader returns a reader of format over r, which must already be
// decompressed.
func NewReader(format string, r io.Reader) (Reader, error) {
	mk, ok := readers[format]
	if !ok {
		return nil, fmt.Errorf("trace: unknown format %q (known: %v)", format, Formats())
	}
	return mk(bufio.NewReaderSize(r, 1<<16)), nil
}

// Trace is a decoded trace.
type Trace struct {
	Keys []uint64
	// Sizes holds each request's size, or is nil if the format has none.
	Sizes []uint32
}

// Distinct returns the number of distinct keys.
func (t *Trace) Distinct() int {
	seen := make(map[uint64]struct{}, len(t.Keys)/4)
	for _, k := range t.Keys {
		seen[k] = struct{}{}
	}
	return len(seen)
}

// ReadAll decodes every request of r.
func ReadAll(r Reader) (*Trace, error) {
	t := &Trace{}
	sized := false
	for {
		req, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		if req.Size != 0 && !sized {
			sized = true
			t.Sizes = make([]uint32, len(t.Keys), cap(t.Keys))
		}
		t.Keys = append(t.Keys, req.Key)
		if sized {
			t.Sizes = append(t.Sizes, req.Size)
		}
	}
	return t, nil
}

var gzipMagic = []byte{0x1f, 0x8b}

// Load reads the whole trace at path in the given format. A gzip file (by
// its magic bytes, whatever its name) is decompressed; a truncated or
// corrupt gzip stream is an error.
func Load(path, format string) (*Trace, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 1<<16)
	var src io.Reader = br
	if head, _ := br.Peek(2); bytes.Equal(head, gzipMagic) {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("trace: %s: %w", path, err)
		}
		defer zr.Close()
		src = zr
	}
	r, err := NewReader(format, src)
	if err != nil {
		return nil, err
	}
	t, err := ReadAll(r)
	if err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, gzip.ErrChecksum) || errors.Is(err, gzip.ErrHeader) {
			return nil, fmt.Errorf("trace: %s: truncated or corrupt: %w", path, err)
		}
		return nil, fmt.Errorf("trace: %s: %w", path, err)
	}
	return t, nil
}
