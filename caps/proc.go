package caps

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// ErrThreadMismatch is returned when some thread does not hold the sets
// the caller expected.
var ErrThreadMismatch = errors.New("thread capabilities differ from what was set")

// Thread is one OS thread's capability state, as /proc reports it.
type Thread struct {
	TID         int
	Inheritable Set
	Permitted   Set
	Effective   Set
	Bounding    Set
	Ambient     Set
	NoNewPrivs  bool
}

// Observe reads the capability sets of every thread of the calling process
// from /proc/self/task/*/status.
func Observe() ([]Thread, error) {
	return ObservePID(os.Getpid())
}

// ObservePID reads the capability sets of every thread of process pid.
func ObservePID(pid int) ([]Thread, error) {
	dir := fmt.Sprintf("/proc/%d/task", pid)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("list threads: %w", err)
	}
	var out []Thread
	for _, e := range ents {
		tid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, e.Name(), "status"))
		if errors.Is(err, os.ErrNotExist) {
			continue // the thread exited meanwhile
		}
		if err != nil {
			return nil, fmt.Errorf("read thread %d status: %w", tid, err)
		}
		t, err := ParseStatus(data)
		if err != nil {
			return nil, fmt.Errorf("thread %d: %w", tid, err)
		}
		t.TID = tid
		out = append(out, t)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no threads found in %s", dir)
	}
	return out, nil
}

// ParseStatus reads the Cap* and NoNewPrivs lines of a /proc status file.
func ParseStatus(data []byte) (Thread, error) {
	var t Thread
	seen := 0
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		key, val, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		val = strings.TrimSpace(val)
		var dst *Set
		switch key {
		case "CapInh":
			dst = &t.Inheritable
		case "CapPrm":
			dst = &t.Permitted
		case "CapEff":
			dst = &t.Effective
		case "CapBnd":
			dst = &t.Bounding
		case "CapAmb":
			dst = &t.Ambient
		case "NoNewPrivs":
			t.NoNewPrivs = val == "1"
			continue
		default:
			continue
		}
		n, err := strconv.ParseUint(val, 16, 64)
		if err != nil {
			return t, fmt.Errorf("bad %s line %q: %w", key, val, err)
		}
		*dst = Set(n)
		seen++
	}
	if seen != 5 {
		return t, fmt.Errorf("status has %d of the 5 Cap* lines", seen)
	}
	return t, nil
}

// Uniform returns the sets shared by every thread, or ErrThreadMismatch
// naming the first thread that differs from the first one.
func Uniform(threads []Thread) (Thread, error) {
	if len(threads) == 0 {
		return Thread{}, errors.New("no threads")
	}
	ref := threads[0]
	for _, t := range threads[1:] {
		if !sameSets(ref, t) {
			return ref, fmt.Errorf("%w: thread %d holds %s, thread %d holds %s", ErrThreadMismatch, ref.TID, describe(ref), t.TID, describe(t))
		}
	}
	return ref, nil
}

func sameSets(a, b Thread) bool {
	return a.Inheritable == b.Inheritable && a.Permitted == b.Permitted &&
		a.Effective == b.Effective && a.Bounding == b.Bounding && a.Ambient == b.Ambient
}

func describe(t Thread) string {
	return fmt.Sprintf("E=%s P=%s I=%s A=%s", t.Effective, t.Permitted, t.Inheritable, t.Ambient)
}
