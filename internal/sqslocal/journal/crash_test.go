package journal

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	helperWorkers  = 8
	helperSnapshot = 64 << 10 // log size at which the helper snapshots
)

// TestKill9 runs TestHelperProcess in a child process that appends from
// several goroutines and snapshots as it goes, SIGKILLs it once it has
// acknowledged a few thousand records, and checks that the reopened journal
// holds every acknowledged record, each goroutine's records exactly once and
// in order, and nothing corrupt. Each round's child resumes the journal the
// previous one left, so recovery itself is recovered from.
func TestKill9(t *testing.T) {
	dir := t.TempDir()
	acked := make([]int, helperWorkers) // per worker: highest acknowledged seq + 1
	have := make([]int, helperWorkers)  // per worker: records in the journal
	for round, killAfter := range []int{4000, 2500, 3100} {
		snapshots := runHelper(t, dir, killAfter, acked)
		prev := slices.Clone(have)
		clear(have)
		j, got, stats := openJournal(t, dir)
		t.Logf("round %d: %d snapshots; replay: %+v", round, snapshots, stats)
		for i, r := range got {
			g, seq, ok := parseHelperRecord(r)
			if !ok {
				t.Fatalf("round %d: record %d is corrupt: %q", round, i, r)
			}
			if seq != have[g] {
				t.Fatalf("round %d: worker %d: record %d follows %d", round, g, seq, have[g]-1)
			}
			have[g]++
		}
		for g := range helperWorkers {
			// A worker waits for each record before appending the next,
			// so at most one record past what it saw acknowledged exists.
			if have[g] < acked[g] || have[g] > max(acked[g], prev[g])+1 {
				t.Errorf("round %d: worker %d: %d records replayed, %d acknowledged", round, g, have[g], acked[g])
			}
		}
		closeJournal(t, j)
	}
}

// runHelper runs the helper process on dir until it has acknowledged
// killAfter records, SIGKILLs it, raises acked to what it acknowledged, and
// returns how many snapshots it took.
func runHelper(t *testing.T, dir string, killAfter int, acked []int) int {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$")
	cmd.Env = append(os.Environ(), "JOURNAL_HELPER=1", "JOURNAL_DIR="+dir)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe() // the child exits when this closes
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// A stuck child must not hang the test: kill it after a minute and
	// let the ack count below report it.
	watchdog := time.AfterFunc(time.Minute, func() { _ = cmd.Process.Kill() })
	defer watchdog.Stop()

	acks, snapshots := 0, 0
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "snapshot ") {
			snapshots++
			continue
		}
		g, seq, ok := parseAck(line)
		if !ok {
			t.Fatalf("unexpected line from child: %q", line)
		}
		acked[g] = max(acked[g], seq+1)
		acks++
		if acks == killAfter {
			if err := cmd.Process.Kill(); err != nil {
				t.Fatalf("kill child: %v", err)
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("read child output: %v", err)
	}
	err = cmd.Wait()
	if acks < killAfter {
		t.Fatalf("child acknowledged only %d records before %v", acks, err)
	}
	if snapshots == 0 {
		t.Error("child took no snapshot before it was killed")
	}
	return snapshots
}

// parseAck parses the child's "<worker> <seq>" line.
func parseAck(line string) (g, seq int, ok bool) {
	a, b, ok := strings.Cut(line, " ")
	if !ok {
		return 0, 0, false
	}
	g, err1 := strconv.Atoi(a)
	seq, err2 := strconv.Atoi(b)
	return g, seq, err1 == nil && err2 == nil && g >= 0 && g < helperWorkers
}

// TestHelperProcess is the child of TestKill9, not a test: it appends to
// JOURNAL_DIR from helperWorkers goroutines and prints "<worker> <seq>" for
// each acknowledged record, until it is killed or its stdin closes.
func TestHelperProcess(t *testing.T) {
	if os.Getenv("JOURNAL_HELPER") != "1" {
		return
	}
	j, err := Open(os.Getenv("JOURNAL_DIR"), Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	var (
		stateMu sync.Mutex
		state   [][]byte // every record, in append order, as a caller's state
		next    = make([]int, helperWorkers)
	)
	_, err = j.Replay(func(r []byte) error {
		g, seq, ok := parseHelperRecord(r)
		if !ok || seq != next[g] {
			return fmt.Errorf("unexpected record %q", r)
		}
		next[g]++
		state = append(state, bytes.Clone(r))
		return nil
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	go func() { // the parent is gone
		_, _ = io.Copy(io.Discard, os.Stdin)
		os.Exit(0)
	}()

	var outMu sync.Mutex
	out := func(format string, args ...any) {
		outMu.Lock()
		defer outMu.Unlock()
		fmt.Fprintf(os.Stdout, format, args...) // unbuffered: one write per line
	}
	var wg sync.WaitGroup
	for g := range helperWorkers {
		wg.Go(func() {
			for seq := next[g]; ; seq++ {
				r := helperRecord(g, seq)
				stateMu.Lock()
				p := j.Append(r)
				state = append(state, r)
				stateMu.Unlock()
				if err := p.Wait(); err != nil {
					fmt.Fprintln(os.Stderr, err)
					os.Exit(2)
				}
				out("%d %d\n", g, seq)

				if j.LogSize() < helperSnapshot {
					continue
				}
				stateMu.Lock()
				if j.LogSize() >= helperSnapshot {
					err := j.Snapshot(func(emit func([]byte) error) error {
						for _, r := range state {
							if err := emit(r); err != nil {
								return err
							}
						}
						return nil
					})
					if err != nil {
						fmt.Fprintln(os.Stderr, err)
						os.Exit(2)
					}
					out("snapshot %d\n", len(state))
				}
				stateMu.Unlock()
			}
		})
	}
	wg.Wait()
}

// helperRecord is worker g's record seq: a header and a body derived from
// it, so that any damage that slipped past the checksum would show.
func helperRecord(g, seq int) []byte {
	b := make([]byte, 256)
	binary.LittleEndian.PutUint32(b, uint32(g))
	binary.LittleEndian.PutUint32(b[4:], uint32(seq))
	for i := 8; i < len(b); i++ {
		b[i] = byte(g*31 + seq*7 + i)
	}
	return b
}

func parseHelperRecord(b []byte) (g, seq int, ok bool) {
	if len(b) != 256 {
		return 0, 0, false
	}
	g, seq = int(binary.LittleEndian.Uint32(b)), int(binary.LittleEndian.Uint32(b[4:]))
	if g >= helperWorkers || string(b) != string(helperRecord(g, seq)) {
		return 0, 0, false
	}
	return g, seq, true
}
