package trace

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
)

// recordReader reads fixed-size binary records and turns each into a
// request. A partial record at the end is an error, not a shorter trace.
type recordReader struct {
	r      *bufio.Reader
	format string
	buf    []byte
	n      int64 // records read
	decode func([]byte) Request
}

func (rr *recordReader) Read() (Request, error) {
	m, err := io.ReadFull(rr.r, rr.buf)
	switch {
	case err == io.EOF:
		return Request{}, io.EOF
	case err == io.ErrUnexpectedEOF:
		return Request{}, fmt.Errorf("trace: %s: record %d cut short after %d of %d bytes (byte offset %d): %w",
			rr.format, rr.n, m, len(rr.buf), rr.n*int64(len(rr.buf)), io.ErrUnexpectedEOF)
	case err != nil:
		return Request{}, fmt.Errorf("trace: %s: record %d: %w", rr.format, rr.n, err)
	}
	rr.n++
	return rr.decode(rr.buf), nil
}

func newInt64BE(r *bufio.Reader) Reader {
	return &recordReader{r: r, format: Int64BE, buf: make([]byte, 8), decode: func(b []byte) Request {
		return Request{Key: binary.BigEndian.Uint64(b)}
	}}
}

func newInt32BE(r *bufio.Reader) Reader {
	return &recordReader{r: r, format: Int32BE, buf: make([]byte, 4), decode: func(b []byte) Request {
		return Request{Key: uint64(binary.BigEndian.Uint32(b))}
	}}
}

// oracleGeneral record layout, little-endian:
// [0:4] u32 time, [4:12] u64 obj_id, [12:16] u32 size, [16:24] i64 next access.
const oracleRecord = 24

func newOracleGeneral(r *bufio.Reader) Reader {
	return &recordReader{r: r, format: OracleGeneral, buf: make([]byte, oracleRecord), decode: func(b []byte) Request {
		return Request{Key: binary.LittleEndian.Uint64(b[4:12]), Size: binary.LittleEndian.Uint32(b[12:16])}
	}}
}
