// Package tracetest reads the bundled gzipped traces for tests.
package tracetest

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"testing"
)

// ARC reads an ARC trace: each line "start count ..." stands for the keys
// start to start+count-1.
func ARC(t testing.TB, path string) []int {
	t.Helper()
	var keys []int
	each(t, path, func(line string) error {
		var start, count int
		if _, err := fmt.Sscan(line, &start, &count); err != nil {
			return err
		}
		for i := range count {
			keys = append(keys, start+i)
		}
		return nil
	})
	return keys
}

// LIRS reads a LIRS trace: one decimal key per line, skipping lines that
// are not integers (2_pools ends with "*"), as perf's reader does.
func LIRS(t testing.TB, path string) []uint64 {
	t.Helper()
	var keys []uint64
	each(t, path, func(line string) error {
		if k, err := strconv.ParseUint(line, 10, 64); err == nil {
			keys = append(keys, k)
		} else if k, err := strconv.ParseInt(line, 10, 64); err == nil {
			keys = append(keys, uint64(k))
		}
		return nil
	})
	return keys
}

// Request is one record of an oracleGeneral trace: an object and its size.
type Request struct {
	Key  uint64
	Size uint32
}

// Oracle reads a libCacheSim oracleGeneral trace: 24-byte little-endian
// records {u32 time, u64 object id, u32 size, i64 next access}.
func Oracle(t testing.TB, path string) []Request {
	t.Helper()
	b := gunzip(t, path)
	if len(b)%24 != 0 {
		t.Fatalf("%s: %d bytes, not a whole number of 24-byte records", path, len(b))
	}
	reqs := make([]Request, 0, len(b)/24)
	for r := b; len(r) > 0; r = r[24:] {
		reqs = append(reqs, Request{binary.LittleEndian.Uint64(r[4:]), binary.LittleEndian.Uint32(r[12:])})
	}
	return reqs
}

// each calls f with every non-blank line of the gzipped file at path.
func each(t testing.TB, path string, f func(string) error) {
	t.Helper()
	sc := bufio.NewScanner(bytes.NewReader(gunzip(t, path)))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		if err := f(line); err != nil {
			t.Fatalf("%s: %q: %v", path, line, err)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
}

// gunzip returns the contents of the gzipped file at path.
func gunzip(t testing.TB, path string) []byte {
	t.Helper()
	file, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	z, err := gzip.NewReader(file)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(z)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return b
}
