package clusterstate

import (
	"errors"
	"fmt"
	"strconv"
	"time"
)

// Lease label keys, on the lease config.
const (
	LabelHolder = "certdock.lease.holder"
	LabelTerm   = "certdock.lease.term"
	LabelTTL    = "certdock.lease.ttl"
	LabelFormat = "certdock.lease.format"
)

// DefaultTTL is how long a lease lives without renewal. Takeover after a
// holder dies takes at most TTL plus one poll (DefaultPoll).
const DefaultTTL = 15 * time.Second

// DefaultPoll is how often a contender looks at the lease (the holder
// renews every TTL/3).
const DefaultPoll = 2 * time.Second

// Lease is the lease record: who holds it, for which term (a number that
// grows with every acquisition, so actions can name the term they were
// decided in), and how long it lives without renewal.
type Lease struct {
	Holder string
	Term   uint64
	TTL    time.Duration
}

// Labels renders the lease as config labels.
func (l Lease) Labels() map[string]string {
	return map[string]string{
		LabelHolder: l.Holder,
		LabelTerm:   strconv.FormatUint(l.Term, 10),
		LabelTTL:    l.TTL.String(),
		LabelFormat: strconv.Itoa(Format),
	}
}

// ParseLease reads a lease from config labels. A newer format is ErrNewer;
// missing or bad values are errors naming the label.
func ParseLease(labels map[string]string) (Lease, error) {
	if f, err := strconv.Atoi(labels[LabelFormat]); err != nil {
		return Lease{}, fmt.Errorf("lease label %s=%q: not a number", LabelFormat, labels[LabelFormat])
	} else if f > Format {
		return Lease{}, fmt.Errorf("lease: %w (format %d, this certdock reads up to %d)", ErrNewer, f, Format)
	}
	term, err := strconv.ParseUint(labels[LabelTerm], 10, 64)
	if err != nil {
		return Lease{}, fmt.Errorf("lease label %s=%q: not a number", LabelTerm, labels[LabelTerm])
	}
	ttl, err := time.ParseDuration(labels[LabelTTL])
	if err != nil || ttl <= 0 {
		return Lease{}, fmt.Errorf("lease label %s=%q: not a positive duration", LabelTTL, labels[LabelTTL])
	}
	return Lease{Holder: labels[LabelHolder], Term: term, TTL: ttl}, nil
}

// Observed is a lease as one process saw it: the record, the version
// index of the object holding it (every write changes it), and when this
// process first saw that index, by its own clock.
type Observed struct {
	Lease
	Index uint64
	Since time.Time
}

// Observe updates what a process knows of the lease after reading it at
// now: Since stays while the index is unchanged, else it is now.
func Observe(prev Observed, l Lease, index uint64, now time.Time) Observed {
	if index == prev.Index && !prev.Since.IsZero() {
		prev.Lease = l
		return prev
	}
	return Observed{Lease: l, Index: index, Since: now}
}

// Step is what a process does next about the lease.
type Step int

const (
	// Wait: another holds a live lease.
	Wait Step = iota
	// Renew: this process holds it; write it again (same term).
	Renew
	// Acquire: the lease is free or expired; take it (next term).
	Acquire
)

func (s Step) String() string {
	switch s {
	case Renew:
		return "renew"
	case Acquire:
		return "acquire"
	}
	return "wait"
}

// Next decides what process me does at now, given what it observed, and
// when it should look again. A lease is expired for a contender once its
// index has not changed for a whole TTL by the contender's clock; a
// released lease (no holder) is free at once.
func Next(me string, obs Observed, now time.Time) (Step, time.Time) {
	switch {
	case obs.Holder == me:
		return Renew, now.Add(obs.TTL / 3)
	case obs.Holder == "":
		return Acquire, now
	}
	expiry := obs.Since.Add(obs.TTL)
	if !now.Before(expiry) {
		return Acquire, now
	}
	return Wait, minTime(expiry, now.Add(DefaultPoll))
}

// Taken is the lease record me writes to acquire or renew.
func Taken(me string, obs Observed, ttl time.Duration) Lease {
	term := obs.Term
	if obs.Holder != me {
		term++
	}
	return Lease{Holder: me, Term: term, TTL: ttl}
}

// ActingUntil is until when a holder may act after a successful write of
// its lease sent at sentAt: the write took effect no earlier than sentAt,
// so every contender sees that index at or after sentAt and waits a
// whole TTL from then. The holder stops a margin (a fifth of the TTL)
// before that, for the time an action already started may still take.
func ActingUntil(sentAt time.Time, ttl time.Duration) time.Time {
	return sentAt.Add(ttl - ttl/5)
}

// ErrNotHolder: this process does not hold the lease (or no longer may
// act on it).
var ErrNotHolder = errors.New("not the active certdock: another holds the swarm lease")

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
