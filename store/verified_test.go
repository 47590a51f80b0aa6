package store

import (
	"maps"
	"testing"
)

func TestVerifiedMemoText(t *testing.T) {
	memo := verifiedMemo{
		"a.example.com": {Version: 3, Stamps: "1:2:3:4;5:6:7:8;", Settled: true, Renewal: "1:9:847:10:11", Server: "https://acme.example/dir with space"},
		"b.example.com": {Version: 1, Stamps: "1:2:3:4;"},
		"c.example.com": {Version: 12, Stamps: "x;", Renewal: "y", Server: ""},
	}
	got, ok := parseVerified(formatVerified(memo))
	if !ok || !maps.Equal(got, memo) {
		t.Fatalf("round trip: %v, %v", got, ok)
	}
	unstorable := verifiedMemo{
		"bad name.example": {Version: 1, Stamps: "s"},
		"d.example.com":    {Version: 1, Stamps: "has space"},
		"e.example.com":    {Version: 1, Stamps: "s", Server: "line\nbreak"},
		"f.example.com":    {Version: 0, Stamps: "s"},
		"g.example.com":    {Version: 1, Stamps: "s", Renewal: "-"},
	}
	if got, ok := parseVerified(formatVerified(unstorable)); !ok || len(got) != 0 {
		t.Fatalf("entries the text cannot hold were written: %v, %v", got, ok)
	}
	for _, bad := range []string{
		"",
		"{}",
		"certdock verified 1\n",
		"certdock verified 2\na.example.com 1 1 s - server", // cut short
		"certdock verified 2\na.example.com 1 1 s -\n",      // no server field
		"certdock verified 2\na.example.com 01 1 s - \n",
		"certdock verified 2\na.example.com 0 1 s - \n",
		"certdock verified 2\na.example.com 1 2 s - \n",
		"certdock verified 2\na.example.com 1 1  s - \n",
		"certdock verified 2\na.example.com 1 1 s - \na.example.com 2 1 s - \n",
	} {
		if m, ok := parseVerified([]byte(bad)); ok {
			t.Errorf("parseVerified(%q) = %v, accepted", bad, m)
		}
	}
}

func FuzzParseVerified(f *testing.F) {
	f.Add([]byte(verifiedHeader + "a.example.com 3 1 1:2:3:4; 1:2:3:4:5 https://acme.example/dir\n"))
	f.Add([]byte(verifiedHeader + "b.example.com 1 0 s -  two  spaces \n"))
	f.Add([]byte(verifiedHeader))
	f.Fuzz(func(t *testing.T, data []byte) {
		memo, ok := parseVerified(data)
		if !ok {
			return
		}
		again, ok := parseVerified(formatVerified(memo))
		if !ok || !maps.Equal(again, memo) {
			t.Fatalf("%q: round trip %v != %v", data, again, memo)
		}
	})
}
