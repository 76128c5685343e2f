package ufocache_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestReadmeNamesRealTests: every test the README's guarantees table (and
// the rest of the README) cites by name exists in some module of the
// repository, so a renamed or deleted test cannot leave a promise
// standing on nothing. A name ending in * stands for the tests it
// begins.
func TestReadmeNamesRealTests(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	defined := map[string]bool{}
	decl := regexp.MustCompile(`(?m)^func ((?:Test|Fuzz|Benchmark|Example)\w*)\(`)
	err = filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, "_test.go") {
			return err
		}
		src, err := os.ReadFile(path)
		for _, m := range decl.FindAllSubmatch(src, -1) {
			defined[string(m[1])] = true
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	cited := regexp.MustCompile("`((?:Test|Fuzz|Benchmark)[A-Z]\\w*\\*?)`").FindAllSubmatch(readme, -1)
	if len(cited) < 50 {
		t.Fatalf("the README cites %d tests by name; the guarantees table alone cites more than 50", len(cited))
	}
	for _, m := range cited {
		name := string(m[1])
		found := defined[name]
		if prefix, ok := strings.CutSuffix(name, "*"); ok {
			for d := range defined {
				found = found || strings.HasPrefix(d, prefix)
			}
		}
		if !found {
			t.Errorf("the README cites %s, which no _test.go file in the repository declares", name)
		}
	}
}
