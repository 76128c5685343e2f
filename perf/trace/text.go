package trace

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strconv"
)

// lineReader splits its input into lines, counting them for error
// messages. A final line without a newline is still a line.
type lineReader struct {
	r    *bufio.Reader
	line int
}

// next returns the next line without its line ending (\n or \r\n) and
// surrounding blanks, or io.EOF. Errors of the underlying reader (such as a
// truncated gzip stream) are returned as they are.
func (l *lineReader) next() ([]byte, error) {
	b, err := l.r.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		// A line longer than the buffer: no valid trace line is, so
		// report it rather than parsing a fragment.
		return nil, fmt.Errorf("line %d: longer than %d bytes", l.line+1, l.r.Size())
	}
	if err != nil && err != io.EOF {
		return nil, err
	}
	if err == io.EOF && len(b) == 0 {
		return nil, io.EOF
	}
	l.line++
	return bytes.TrimSpace(b), nil
}

// arcReader reads ARC traces: `start count ...` lines, each a run of count
// consecutive keys from start.
type arcReader struct {
	lines      lineReader
	next, left uint64
}

// maxARCRun bounds one line's run so that a corrupt count cannot make a
// reader produce billions of requests; real ARC traces stay under 1,000.
const maxARCRun = 1 << 24

func newARC(r *bufio.Reader) Reader { return &arcReader{lines: lineReader{r: r}} }

func (a *arcReader) Read() (Request, error) {
	for a.left == 0 {
		b, err := a.lines.next()
		if err != nil {
			return Request{}, wrap(ARC, err)
		}
		if len(b) == 0 {
			continue
		}
		f := bytes.Fields(b)
		if len(f) < 2 {
			return Request{}, fmt.Errorf("trace: arc: line %d: want `start count ...`, got %q", a.lines.line, b)
		}
		start, err1 := strconv.ParseUint(string(f[0]), 10, 64)
		count, err2 := strconv.ParseUint(string(f[1]), 10, 64)
		if err1 != nil || err2 != nil || count == 0 || count > maxARCRun {
			return Request{}, fmt.Errorf("trace: arc: line %d: bad start or count in %q", a.lines.line, b)
		}
		a.next, a.left = start, count
	}
	k := a.next
	a.next++
	a.left--
	return Request{Key: k}, nil
}

// lirsReader reads LIRS traces: one integer key per line. Lines that are
// not an integer (the `*` separators some files carry) are skipped.
type lirsReader struct {
	lines lineReader
}

func newLIRS(r *bufio.Reader) Reader { return &lirsReader{lines: lineReader{r: r}} }

func (l *lirsReader) Read() (Request, error) {
	for {
		b, err := l.lines.next()
		if err != nil {
			return Request{}, wrap(LIRS, err)
		}
		if k, err := strconv.ParseUint(string(b), 10, 64); err == nil {
			return Request{Key: k}, nil
		}
		if k, err := strconv.ParseInt(string(b), 10, 64); err == nil {
			return Request{Key: uint64(k)}, nil
		}
	}
}

// wrap prefixes a reader error with the format, leaving io.EOF alone.
func wrap(format string, err error) error {
	if err == io.EOF {
		return err
	}
	return fmt.Errorf("trace: %s: %w", format, err)
}
