package trace_test

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ufocache/ufocache/perf/trace"
)

func readAll(t *testing.T, format string, data []byte) (*trace.Trace, error) {
	t.Helper()
	r, err := trace.NewReader(format, bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	return trace.ReadAll(r)
}

func gz(t *testing.T, data []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func writeFile(t *testing.T, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "trace")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func be64(keys ...uint64) []byte {
	var b []byte
	for _, k := range keys {
		b = binary.BigEndian.AppendUint64(b, k)
	}
	return b
}

func be32(keys ...uint32) []byte {
	var b []byte
	for _, k := range keys {
		b = binary.BigEndian.AppendUint32(b, k)
	}
	return b
}

func oracle(recs ...[2]uint64) []byte {
	var b []byte
	for i, r := range recs {
		b = binary.LittleEndian.AppendUint32(b, uint32(i))
		b = binary.LittleEndian.AppendUint64(b, r[0])
		b = binary.LittleEndian.AppendUint32(b, uint32(r[1]))
		b = binary.LittleEndian.AppendUint64(b, ^uint64(0))
	}
	return b
}

func TestFormats(t *testing.T) {
	cases := []struct {
		format string
		data   []byte
		keys   []uint64
		sizes  []uint32
	}{
		{trace.ARC, []byte("10 3 0 0\n5 1 0 0\n\n100 2 7 9\n"), []uint64{10, 11, 12, 5, 100, 101}, nil},
		{trace.ARC, []byte("1 2"), []uint64{1, 2}, nil}, // no final newline
		{trace.LIRS, []byte("0\r\n7\r\n*\r\n  42 \nnot a key\n-1\n3"), []uint64{0, 7, 42, ^uint64(0), 3}, nil},
		{trace.Int64BE, be64(1, 1<<40, 3), []uint64{1, 1 << 40, 3}, nil},
		{trace.Int32BE, be32(0, 0xdeadbeef, 2), []uint64{0, 0xdeadbeef, 2}, nil},
		{
			trace.OracleGeneral, oracle([2]uint64{9, 4096}, [2]uint64{1 << 50, 512}, [2]uint64{9, 4096}),
			[]uint64{9, 1 << 50, 9},
			[]uint32{4096, 512, 4096},
		},
		{trace.Int64BE, nil, nil, nil},
	}
	for _, c := range cases {
		t.Run(c.format, func(t *testing.T) {
			tr, err := readAll(t, c.format, c.data)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(tr.Keys, c.keys) || !slices.Equal(tr.Sizes, c.sizes) {
				t.Fatalf("got keys %v sizes %v, want %v %v", tr.Keys, tr.Sizes, c.keys, c.sizes)
			}
			// The same through Load, plain and gzipped.
			for _, data := range [][]byte{c.data, gz(t, c.data)} {
				lt, err := trace.Load(writeFile(t, data), c.format)
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(lt.Keys, c.keys) {
					t.Fatalf("Load: got %v, want %v", lt.Keys, c.keys)
				}
			}
		})
	}
}

func TestMalformed(t *testing.T) {
	cases := []struct {
		name, format string
		data         []byte
		want         string
	}{
		{"int64 partial record", trace.Int64BE, be64(1, 2)[:13], "record 1 cut short"},
		{"int32 partial record", trace.Int32BE, be32(1, 2, 3)[:10], "record 2 cut short"},
		{"oracle partial record", trace.OracleGeneral, oracle([2]uint64{1, 1}, [2]uint64{2, 2})[:30], "record 1 cut short"},
		{"arc one field", trace.ARC, []byte("1 2\n3\n"), "line 2"},
		{"arc not a number", trace.ARC, []byte("1 2\nx 2\n"), "line 2"},
		{"arc zero count", trace.ARC, []byte("1 0\n"), "line 1"},
		{"arc huge count", trace.ARC, []byte("1 99999999999\n"), "line 1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := readAll(t, c.format, c.data)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got error %v, want one containing %q", err, c.want)
			}
			if _, err := trace.Load(writeFile(t, gz(t, c.data)), c.format); err == nil {
				t.Fatal("Load of the gzipped file: no error")
			}
		})
	}
}

func TestTruncatedGzip(t *testing.T) {
	// A gzip stream cut anywhere must fail, in every format, even where the
	// cut falls on a record or line boundary of the decompressed data.
	data := map[string][]byte{
		trace.ARC:           []byte(strings.Repeat("12345 3 0 0\n", 2000)),
		trace.LIRS:          []byte(strings.Repeat("12345\n", 5000)),
		trace.Int64BE:       be64(slices.Repeat([]uint64{7, 8, 9}, 3000)...),
		trace.Int32BE:       be32(slices.Repeat([]uint32{7, 8, 9}, 3000)...),
		trace.OracleGeneral: oracle(slices.Repeat([][2]uint64{{7, 1}, {8, 2}}, 2000)...),
	}
	for format, d := range data {
		z := gz(t, d)
		for _, cut := range []int{len(z) - 1, len(z) - 8, len(z) / 2, 12} {
			_, err := trace.Load(writeFile(t, z[:cut]), format)
			if err == nil {
				t.Errorf("%s cut at %d of %d: no error", format, cut, len(z))
			} else if !errors.Is(err, io.ErrUnexpectedEOF) && !strings.Contains(err.Error(), "corrupt") {
				t.Errorf("%s cut at %d: unclear error %v", format, cut, err)
			}
		}
	}
	// A flipped byte in the body fails the checksum (or the inflate).
	z := gz(t, be64(slices.Repeat([]uint64{1, 2, 3}, 100)...))
	z[len(z)/2] ^= 0xff
	if _, err := trace.Load(writeFile(t, z), trace.Int64BE); err == nil {
		t.Error("corrupt gzip: no error")
	}
}

func TestUnknownFormat(t *testing.T) {
	if _, err := trace.NewReader("csv", strings.NewReader("")); err == nil {
		t.Fatal("no error for an unknown format")
	}
	if _, err := trace.Load(filepath.Join(t.TempDir(), "missing"), trace.ARC); err == nil {
		t.Fatal("no error for a missing file")
	}
}

// TestBundledTraces decodes the project's traces and checks the request and
// distinct-key counts published in testdata/traces/README.md.
func TestBundledTraces(t *testing.T) {
	dir := filepath.Join("..", "..", "testdata", "traces")
	if _, err := os.Stat(dir); err != nil {
		t.Skip("no bundled traces:", err)
	}
	cases := []struct {
		path, format       string
		requests, distinct int
	}{
		{"arc/oltp.gz", trace.ARC, 914145, 186880},
		{"lirs/loop.trace.gz", trace.LIRS, 505500, 1011},
		{"lirs/gli.trace.gz", trace.LIRS, 6015, 2529},
		{"lirs/2_pools.trace.gz", trace.LIRS, 100000, 9939},
		{"lirs/sprite.trace.gz", trace.LIRS, 133996, 7075},
		{"lirs/multi2.trace.gz", trace.LIRS, 26311, 5684},
		{"lirs/zigzag.trace.gz", trace.LIRS, 52001, 2001},
		{"corda/trace_vaultservice.gz", trace.Int64BE, 135702, 90468},
		{"cache2k/web12.trace.gz", trace.Int32BE, 95607, 13756},
		{"oracle/cloudPhysicsIO.oracleGeneral.bin.gz", trace.OracleGeneral, 113872, 48974},
	}
	if !testing.Short() {
		cases = append(cases, struct {
			path, format       string
			requests, distinct int
		}{"arc/p3.gz", trace.ARC, 3912296, 762543})
	}
	for _, c := range cases {
		tr, err := trace.Load(filepath.Join(dir, c.path), c.format)
		if err != nil {
			t.Fatal(err)
		}
		if len(tr.Keys) != c.requests || tr.Distinct() != c.distinct {
			t.Errorf("%s: %d requests, %d distinct; want %d, %d", c.path, len(tr.Keys), tr.Distinct(), c.requests, c.distinct)
		}
		if (c.format == trace.OracleGeneral) != (tr.Sizes != nil) {
			t.Errorf("%s: sizes present = %v", c.path, tr.Sizes != nil)
		}
	}
}

// A trace whose first requests carry no size keeps each size beside its
// own request: the sizes before the first one are 0, not shifted.
func TestSizesStartLate(t *testing.T) {
	tr, err := readAll(t, trace.OracleGeneral, oracle([2]uint64{1, 0}, [2]uint64{2, 0}, [2]uint64{3, 300}, [2]uint64{4, 400}))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(tr.Keys, []uint64{1, 2, 3, 4}) || !slices.Equal(tr.Sizes, []uint32{0, 0, 300, 400}) {
		t.Fatalf("keys %v sizes %v, want sizes 0 0 300 400", tr.Keys, tr.Sizes)
	}
}
