package cert

import (
	"fmt"
	"strconv"
	"strings"
)

// linuxSignals maps the signal names the Docker daemon knows on Linux
// (without "SIG") to their numbers.
var linuxSignals = map[string]int{
	"HUP": 1, "INT": 2, "QUIT": 3, "ILL": 4, "TRAP": 5, "ABRT": 6, "IOT": 6, "BUS": 7,
	"FPE": 8, "KILL": 9, "USR1": 10, "SEGV": 11, "USR2": 12, "PIPE": 13, "ALRM": 14,
	"TERM": 15, "STKFLT": 16, "CHLD": 17, "CLD": 17, "CONT": 18, "STOP": 19, "TSTP": 20,
	"TTIN": 21, "TTOU": 22, "URG": 23, "XCPU": 24, "XFSZ": 25, "VTALRM": 26, "PROF": 27,
	"WINCH": 28, "IO": 29, "POLL": 29, "PWR": 30, "SYS": 31,
}

// canonicalSignals names each signal number 1–31 the way ParseSignal
// returns it (aliases such as IOT and CLD map to ABRT and CHLD).
var canonicalSignals = func() map[int]string {
	m := map[int]string{}
	for name, n := range linuxSignals {
		switch name {
		case "IOT", "CLD", "POLL":
			continue
		}
		m[n] = "SIG" + name
	}
	return m
}()

// Real-time signal numbers on Linux as the Docker daemon numbers them
// (glibc reserves 32 and 33).
const (
	sigRTMin  = 34
	sigRTMax  = 64
	maxSignal = 64
)

// ParseSignal validates a signal as a user may write it in a label or a
// configuration file and returns the spelling certdock sends to the daemon:
// a name with or without "SIG", in any case ("SIGHUP", "hup", "USR1"), a
// real-time signal ("SIGRTMIN+3", "RTMAX-1"), or a number from 1 to 64
// ("1"). Names come back canonical ("SIGHUP", "SIGRTMIN+3"); numbers of
// classic signals come back as their name, other numbers as the number.
//
// It does not refuse SIGKILL or SIGSTOP: they are valid, if unusual,
// reload signals.
func ParseSignal(s string) (string, error) {
	raw := strings.TrimSpace(s)
	if raw == "" {
		return "", fmt.Errorf("empty signal (want a name such as SIGHUP or a number)")
	}
	if n, err := strconv.Atoi(raw); err == nil {
		if n < 1 || n > maxSignal {
			return "", fmt.Errorf("signal number %d out of range 1-%d", n, maxSignal)
		}
		if name, ok := canonicalSignals[n]; ok {
			return name, nil
		}
		return strconv.Itoa(n), nil
	}
	name := strings.TrimPrefix(strings.ToUpper(raw), "SIG")
	if n, ok := linuxSignals[name]; ok {
		return canonicalSignals[n], nil
	}
	if rt, ok := parseRealtime(name); ok {
		return rt, nil
	}
	return "", fmt.Errorf("unknown signal %q (want a name such as SIGHUP, SIGUSR1, SIGRTMIN+1, or a number 1-%d)", s, maxSignal)
}

// parseRealtime accepts RTMIN, RTMIN+n, RTMAX and RTMAX-n (name already
// upper-case, without "SIG") within the real-time range.
func parseRealtime(name string) (string, bool) {
	if name == "RTMIN" || name == "RTMAX" {
		return "SIG" + name, true
	}
	var base, op string
	switch {
	case strings.HasPrefix(name, "RTMIN+"):
		base, op = "RTMIN", "+"
	case strings.HasPrefix(name, "RTMAX-"):
		base, op = "RTMAX", "-"
	default:
		return "", false
	}
	rest := name[len(base)+1:]
	// Digits only: Atoi would accept a second sign.
	if rest == "" || len(rest) > 2 || strings.TrimLeft(rest, "0123456789") != "" {
		return "", false
	}
	off, _ := strconv.Atoi(rest)
	n := sigRTMin + off
	if op == "-" {
		n = sigRTMax - off
	}
	if n < sigRTMin || n > sigRTMax {
		return "", false
	}
	if off == 0 {
		return "SIG" + base, true
	}
	return "SIG" + base + op + strconv.Itoa(off), true
}
