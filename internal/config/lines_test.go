package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
)

func TestIndexLines(t *testing.T) {
	root := keyPath("")
	clusters := root.key("clusters")
	prod := clusters.key("prod")
	eps := prod.key("endpoints")

	tests := []struct {
		name string
		src  string
		want map[keyPath]int
	}{
		{
			name: "tables and keys",
			src:  "# comment\n[daemon]\nlog_level = \"info\"\n\n[clusters.prod]\nlisten = \"x\"\n",
			want: map[keyPath]int{
				root.key("daemon"):                  2,
				root.key("daemon").key("log_level"): 3,
				clusters:                            5,
				prod:                                5,
				prod.key("listen"):                  6,
			},
		},
		{
			name: "each entry of an array of tables has its own lines",
			src: "[[clusters.prod.endpoints]]\nname = \"a\"\n\n" +
				"[[clusters.prod.endpoints]]\nname = \"b\"\nweight = 1\n",
			want: map[keyPath]int{
				eps.index(0):               1,
				eps.index(0).key("name"):   2,
				eps.index(1):               4,
				eps.index(1).key("name"):   5,
				eps.index(1).key("weight"): 6,
			},
		},
		{
			name: "subtable of an array entry",
			src:  "[[a]]\nx = 1\n[a.b]\ny = 2\n[[a]]\n[a.b]\ny = 3\n",
			want: map[keyPath]int{
				root.key("a").index(0).key("b").key("y"): 4,
				root.key("a").index(1).key("b"):          6,
				root.key("a").index(1).key("b").key("y"): 7,
			},
		},
		{
			name: "dotted and quoted keys",
			src:  "[clusters.\"prod\"]\nhealth.kind = \"verify\"\n'health'.\"interval\" = \"1s\"\n",
			want: map[keyPath]int{
				prod:                               1,
				prod.key("health"):                 2,
				prod.key("health").key("kind"):     2,
				prod.key("health").key("interval"): 3,
			},
		},
		{
			name: "multi-line strings and arrays do not shift lines",
			src: "a = \"\"\"\none\n[not.a.table]\n\\\"\"\"\"\"\"\nb = '''\n'''\n" +
				"c = [\n  1, # comment ]\n  \"x]\",\n]\nd = 1979-05-27 07:32:00\ne = 2\n",
			want: map[keyPath]int{
				root.key("a"):          1,
				root.key("b"):          5,
				root.key("c"):          7,
				root.key("c").index(0): 8,
				root.key("c").index(1): 9,
				root.key("d"):          11,
				root.key("e"):          12,
			},
		},
		{
			name: "inline tables in an array",
			src:  "endpoints = [\n  { name = \"a\" },\n  { name = \"b\",\n    weight = 0 },\n]\n",
			want: map[keyPath]int{
				root.key("endpoints").index(0).key("name"):   2,
				root.key("endpoints").index(1):               3,
				root.key("endpoints").index(1).key("weight"): 4,
			},
		},
		{
			name: "CRLF and a byte order mark",
			src:  "\xef\xbb\xbf[daemon]\r\nlog_level = \"info\"\r\n",
			want: map[keyPath]int{
				root.key("daemon").key("log_level"): 2,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := toml.Decode(tt.src, new(map[string]any)); err != nil {
				t.Fatalf("test input is not TOML: %v", err)
			}
			got := indexLines(tt.src)
			for p, want := range tt.want {
				if got[p] != want {
					t.Errorf("line of %s = %d, want %d", p, got[p], want)
				}
			}
		})
	}
}

// FuzzIndexLines checks that the scanner ends and does not panic on any
// input, TOML or not; the seeds are the testdata files.
func FuzzIndexLines(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.toml")
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(data))
	}
	for _, s := range []string{"[", "[[", "a = [", "a = {", `a = "\`, `a = """`, "a = '''", "a.", "= 1", "a = [1 2]", "a = {b}"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		for p, line := range indexLines(src) {
			if line < 1 || line > strings.Count(src, "\n")+1 {
				t.Errorf("line of %s = %d, outside the input", p, line)
			}
		}
	})
}
