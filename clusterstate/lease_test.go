package clusterstate

import (
	"errors"
	"testing"
	"time"
)

func TestLeaseLabelsRoundTrip(t *testing.T) {
	l := Lease{Holder: "m2/1234/ab", Term: 7, TTL: 15 * time.Second}
	got, err := ParseLease(l.Labels())
	if err != nil || got != l {
		t.Fatalf("round trip: %+v, %v", got, err)
	}
	newer := l.Labels()
	newer[LabelFormat] = "2"
	if _, err := ParseLease(newer); !errors.Is(err, ErrNewer) {
		t.Fatalf("newer format: %v, want ErrNewer", err)
	}
	for _, key := range []string{LabelTerm, LabelTTL, LabelFormat} {
		bad := l.Labels()
		bad[key] = "x"
		if _, err := ParseLease(bad); err == nil {
			t.Errorf("bad %s accepted", key)
		}
	}
}

func TestObserve(t *testing.T) {
	t0 := time.Unix(1000, 0)
	l := Lease{Holder: "a", Term: 1, TTL: 15 * time.Second}
	o := Observe(Observed{}, l, 5, t0)
	if o.Since != t0 {
		t.Fatalf("first observation since %v", o.Since)
	}
	o = Observe(o, l, 5, t0.Add(10*time.Second))
	if o.Since != t0 {
		t.Fatalf("same index moved Since to %v", o.Since)
	}
	o = Observe(o, l, 6, t0.Add(11*time.Second))
	if o.Since != t0.Add(11*time.Second) || o.Index != 6 {
		t.Fatalf("new index: %+v", o)
	}
}

func TestNext(t *testing.T) {
	t0 := time.Unix(1000, 0)
	ttl := 15 * time.Second
	held := func(holder string) Observed {
		return Observed{Lease: Lease{Holder: holder, Term: 3, TTL: ttl}, Index: 9, Since: t0}
	}
	for _, tc := range []struct {
		name string
		obs  Observed
		at   time.Duration
		step Step
		next time.Duration
	}{
		{"mine: renew a third of the TTL later", held("me"), 0, Renew, 5 * time.Second},
		{"free", held(""), 0, Acquire, 0},
		{"another's, fresh: poll", held("other"), time.Second, Wait, 3 * time.Second},
		{"another's, about to expire: look at expiry", held("other"), 14 * time.Second, Wait, ttl},
		{"another's, unchanged for a TTL: take it", held("other"), ttl, Acquire, ttl},
	} {
		t.Run(tc.name, func(t *testing.T) {
			step, next := Next("me", tc.obs, t0.Add(tc.at))
			if step != tc.step || !next.Equal(t0.Add(tc.next)) {
				t.Fatalf("Next: %v at +%v, want %v at +%v", step, next.Sub(t0), tc.step, tc.next)
			}
		})
	}
}

func TestTakenAndActingUntil(t *testing.T) {
	obs := Observed{Lease: Lease{Holder: "other", Term: 3, TTL: 15 * time.Second}}
	if l := Taken("me", obs, 15*time.Second); l.Term != 4 || l.Holder != "me" {
		t.Fatalf("acquire: %+v, want term 4", l)
	}
	obs.Holder = "me"
	if l := Taken("me", obs, 15*time.Second); l.Term != 3 {
		t.Fatalf("renew: %+v, want the same term", l)
	}
	sent := time.Unix(1000, 0)
	until := ActingUntil(sent, 15*time.Second)
	// A contender that saw the write at the earliest possible moment
	// (sent) takes over at sent+TTL: the holder must have stopped before.
	if !until.Before(sent.Add(15 * time.Second)) {
		t.Fatalf("holder acts until %v, not before a contender's takeover at %v", until, sent.Add(15*time.Second))
	}
}
