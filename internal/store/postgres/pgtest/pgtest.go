// Package pgtest runs a throwaway PostgreSQL cluster for tests, from the
// server binaries Debian's postgresql package installs
// (/usr/lib/postgresql/<version>/bin, the highest version; else initdb on
// PATH), and gives every test a database of its own.
//
// The cluster lives in a temporary directory, listens only on a unix
// socket there (no TCP port at all), starts on the first Start of the test
// binary and is stopped (pg_ctl stop -m immediate) and removed by Main
// when the tests end; if the test binary dies first, the kernel kills it
// (parent-death signal). As root (here and in CI), initdb and postgres
// refuse to run, so they run as the postgres system user (or nobody).
//
// A package using Start must call Main from its TestMain:
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
package pgtest

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/checkfleet/checkfleet/internal/testenv"
)

// install says what to install when the binaries are missing.
const install = "install Debian's postgresql (apt-get install postgresql) to run the PostgreSQL tests"

var (
	mainCalled atomic.Bool
	mu         sync.Mutex
	clusters   = map[bool]*cluster{} // by durable
	dbSeq      atomic.Int64
)

// Main runs the package's tests, then stops and removes the clusters they
// started, and exits with the tests' status.
func Main(m *testing.M) { os.Exit(Run(m)) }

// Run is Main without the exit, for a TestMain that has more to clean up:
// it returns the tests' status.
func Run(m *testing.M) int {
	mainCalled.Store(true)
	code := m.Run()
	if err := stopAll(); err != nil {
		fmt.Fprintln(os.Stderr, "pgtest:", err)
		if code == 0 {
			code = 1
		}
	}
	return code
}

// StopServer stops the cluster of Start (durable false) or StartDurable
// (durable true) at once, as a crash would (pg_ctl stop -m immediate),
// keeping its data (on the fast cluster, the last commits may be lost, as
// in a crash): connections fail until StartServer. For outage tests.
func StopServer(durable bool) error {
	mu.Lock()
	defer mu.Unlock()
	c, ok := clusters[durable]
	if !ok || c.err != nil {
		return errors.New("pgtest: no running cluster to stop")
	}
	return c.halt()
}

// StartServer starts again, on the same data and socket, the cluster
// StopServer stopped, and waits until it answers.
func StartServer(durable bool) error {
	mu.Lock()
	defer mu.Unlock()
	c, ok := clusters[durable]
	if !ok || c.err != nil {
		return errors.New("pgtest: no cluster to start")
	}
	select {
	case <-c.done:
	default:
		return nil // running
	}
	if err := c.run(c.args); err != nil {
		return err
	}
	return c.waitReady(30 * time.Second)
}

// Start returns the connection string (postgres://...) of a new, empty
// database, dropped when tb ends. The cluster trades durability for speed
// (fsync off); use StartDurable to measure.
func Start(tb testing.TB) string { return start(tb, false) }

// StartDurable is Start on a cluster with PostgreSQL's durable defaults
// (fsync, synchronous_commit), for benchmarks whose figures must mean
// something.
func StartDurable(tb testing.TB) string { return start(tb, true) }

func start(tb testing.TB, durable bool) string {
	tb.Helper()
	if !mainCalled.Load() {
		tb.Fatal("pgtest: the package's TestMain must call pgtest.Main(m), which stops the cluster when the tests end")
	}
	c, err := get(durable)
	if errors.Is(err, errNoBinaries) {
		testenv.SkipOrFail(tb, "pgtest: %v; %s", err, install)
	}
	if err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
	name := "checkfleet_test_" + strconv.FormatInt(dbSeq.Add(1), 10)
	if err := c.admin("CREATE DATABASE " + name + c.createOptions); err != nil {
		tb.Fatalf("pgtest: create database: %v", err)
	}
	tb.Cleanup(func() {
		if err := c.admin(fmt.Sprintf("DROP DATABASE %s WITH (FORCE)", name)); err != nil {
			tb.Errorf("pgtest: drop database: %v", err)
		}
	})
	return c.dsn(name)
}

// get returns the running cluster of that kind, starting it the first
// time. A failed start is remembered, so later tests fail fast.
func get(durable bool) (*cluster, error) {
	mu.Lock()
	defer mu.Unlock()
	c, ok := clusters[durable]
	if !ok {
		c = &cluster{}
		c.err = c.start(durable)
		clusters[durable] = c
	}
	return c, c.err
}

func stopAll() error {
	mu.Lock()
	defer mu.Unlock()
	var errs []error
	for _, c := range clusters {
		errs = append(errs, c.stop())
	}
	clear(clusters)
	return errors.Join(errs...)
}

var errNoBinaries = errors.New("no PostgreSQL server binaries (initdb, pg_ctl, postgres) found")

// cluster is one running postgres.
type cluster struct {
	err error
	bin string // directory of initdb, pg_ctl, postgres
	// createOptions end CREATE DATABASE: FILE_COPY (PostgreSQL 15+)
	// copies the template's files rather than logging every block, much
	// faster for a small template.
	createOptions string
	dir           string // temporary directory: data/, the socket, postgres.log
	cred          *syscall.Credential
	port          int
	args          []string      // of postgres, for StartServer
	done          chan struct{} // closed when postgres has exited
	waitErr       error
	proc          *os.Process
}

const socketPort = 5432 // only names the socket file: there is no TCP listener

func (c *cluster) start(durable bool) error {
	bin, err := findBinaries()
	if err != nil {
		return err
	}
	c.bin, c.port = bin, socketPort
	if c.cred, err = credential(); err != nil {
		return err
	}
	parent := parentDir(durable)
	removeStale(parent)
	if c.dir, err = os.MkdirTemp(parent, dirPrefix); err != nil {
		return fmt.Errorf("temporary directory: %w", err)
	}
	if err := os.WriteFile(filepath.Join(c.dir, ownerFile), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		c.removeDir()
		return err
	}
	if c.cred != nil {
		if err := os.Chown(c.dir, int(c.cred.Uid), int(c.cred.Gid)); err != nil {
			c.removeDir()
			return fmt.Errorf("hand %s to uid %d: %w", c.dir, c.cred.Uid, err)
		}
	}
	data := filepath.Join(c.dir, "data")
	if out, err := c.command("initdb", "-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8",
		"--locale=C", "--no-sync", "--no-instructions", "--wal-segsize=1").CombinedOutput(); err != nil {
		c.removeDir()
		return fmt.Errorf("initdb in %s (the user running it must be able to reach it): %w\n%s", c.dir, err, out)
	}
	args := []string{"-D", data, "-k", c.dir, "-p", strconv.Itoa(c.port), "-c", "listen_addresses=",
		"-c", "max_connections=200", "-c", "shared_buffers=64MB", "-c", "log_min_messages=warning",
		"-c", "min_wal_size=4MB", "-c", "max_wal_size=64MB",
		// Shared memory segments as files in the data directory, so that
		// nothing is left in /dev/shm should postgres be killed.
		"-c", "dynamic_shared_memory_type=mmap"}
	if !durable {
		args = append(args, "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off")
	}
	c.args = args
	if err := c.run(args); err != nil {
		c.removeDir()
		return err
	}
	if err := c.waitReady(30 * time.Second); err != nil {
		return errors.Join(err, c.stop())
	}
	version, err := c.serverVersion()
	if err != nil {
		return errors.Join(err, c.stop())
	}
	if version >= 150000 {
		c.createOptions = " STRATEGY = FILE_COPY"
	}
	return nil
}

// run starts postgres from a goroutine locked to its OS thread, which
// stays until postgres exits: the parent-death signal is tied to the
// thread that started the process, and it must not fire while the tests
// run.
func (c *cluster) run(args []string) error {
	logFile, err := os.OpenFile(filepath.Join(c.dir, "postgres.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	cmd := c.command("postgres", args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	c.done = make(chan struct{})
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer logFile.Close()
		if err := cmd.Start(); err != nil {
			started <- err
			close(c.done)
			return
		}
		c.proc = cmd.Process
		started <- nil
		c.waitErr = cmd.Wait()
		close(c.done)
	}()
	if err := <-started; err != nil {
		return fmt.Errorf("start postgres: %w", err)
	}
	return nil
}

// waitReady connects until postgres answers, it exits or the time is up.
func (c *cluster) waitReady(limit time.Duration) error {
	deadline := time.Now().Add(limit)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		err := c.admin("SELECT 1")
		if err == nil {
			return nil
		}
		select {
		case <-c.done:
			return fmt.Errorf("postgres exited (%v) before it was ready:\n%s", c.waitErr, c.log())
		case <-tick.C:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("postgres not ready after %v: %v\n%s", limit, err, c.log())
		}
	}
}

// stop shuts postgres down at once and removes its directory.
func (c *cluster) stop() error {
	if c.err != nil && c.done == nil {
		return nil // never started
	}
	return errors.Join(c.halt(), c.removeDir())
}

// halt shuts postgres down at once, keeping its directory.
func (c *cluster) halt() error {
	var errs []error
	select {
	case <-c.done:
	default:
		if out, err := c.command("pg_ctl", "stop", "-D", filepath.Join(c.dir, "data"), "-m", "immediate", "-w", "-t", "20").CombinedOutput(); err != nil {
			errs = append(errs, fmt.Errorf("pg_ctl stop: %w: %s", err, out))
		}
		select {
		case <-c.done:
		case <-time.After(20 * time.Second):
			if c.proc != nil {
				_ = c.proc.Kill()
			}
			<-c.done
		}
	}
	return errors.Join(errs...)
}

// removeDir removes the cluster's directory; postgres has exited.
func (c *cluster) removeDir() error {
	if err := os.RemoveAll(c.dir); err != nil {
		return fmt.Errorf("remove %s: %w", c.dir, err)
	}
	return nil
}

// admin runs one statement in the postgres database.
func (c *cluster) admin(sql string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, c.dsn("postgres"))
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, sql)
	return err
}

// serverVersion is server_version_num: 150004 for 15.4.
func (c *cluster) serverVersion() (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, c.dsn("postgres"))
	if err != nil {
		return 0, err
	}
	defer conn.Close(ctx)
	var v string
	if err := conn.QueryRow(ctx, "SHOW server_version_num").Scan(&v); err != nil {
		return 0, fmt.Errorf("server version: %w", err)
	}
	return strconv.Atoi(v)
}

func (c *cluster) dsn(database string) string {
	return fmt.Sprintf("postgres://postgres@/%s?host=%s&port=%d&sslmode=disable", database, url.QueryEscape(c.dir), c.port)
}

func (c *cluster) log() string {
	b, _ := os.ReadFile(filepath.Join(c.dir, "postgres.log"))
	return string(b)
}

// command runs one of the server binaries, as the unprivileged user when
// the tests run as root.
func (c *cluster) command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(filepath.Join(c.bin, name), args...)
	cmd.Env = []string{"LC_ALL=C", "LANG=C", "PATH=" + c.bin + ":/usr/bin:/bin", "HOME=" + c.dir, "TZ=UTC"}
	cmd.Dir = c.dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred}
	return cmd
}

// A cluster's directory is named dirPrefix*, and holds ownerFile: the pid
// of the test binary that made it.
const (
	dirPrefix = "checkfleet-pgtest-"
	ownerFile = "owner.pid"
)

// removeStale removes the cluster directories in parent left by test
// binaries that were killed (their postgres died with them). A directory
// without an owner file may be one being set up: it is left alone.
func removeStale(parent string) {
	dirs, _ := filepath.Glob(filepath.Join(parent, dirPrefix+"*"))
	for _, dir := range dirs {
		b, err := os.ReadFile(filepath.Join(dir, ownerFile))
		if err != nil {
			continue
		}
		pid, err := strconv.Atoi(string(b))
		if err != nil || pid <= 0 || syscall.Kill(pid, 0) == syscall.ESRCH {
			_ = os.RemoveAll(dir)
		}
	}
}

// parentDir is where a cluster's directory goes: for the fast cluster, a
// large enough tmpfs at /dev/shm when there is one (creating a database
// costs milliseconds there, hundreds of them on a disk); else the system's
// temporary directory.
func parentDir(durable bool) string {
	var fs syscall.Statfs_t
	const tmpfsMagic = 0x01021994
	if !durable && syscall.Statfs("/dev/shm", &fs) == nil && fs.Type == tmpfsMagic && fs.Bavail*uint64(fs.Bsize) >= 1<<30 {
		return "/dev/shm"
	}
	return os.TempDir()
}

// findBinaries returns the bin directory of the highest PostgreSQL version
// Debian installed, or the one holding initdb on PATH.
func findBinaries() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	version := func(dir string) int {
		n, _ := strconv.Atoi(filepath.Base(filepath.Dir(dir)))
		return n
	}
	slices.SortFunc(dirs, func(a, b string) int { return version(b) - version(a) })
	if p, err := exec.LookPath("initdb"); err == nil {
		dirs = append(dirs, filepath.Dir(p))
	}
	for _, d := range dirs {
		if has(d, "initdb") && has(d, "pg_ctl") && has(d, "postgres") {
			return d, nil
		}
	}
	return "", errNoBinaries
}

func has(dir, name string) bool {
	fi, err := os.Stat(filepath.Join(dir, name))
	return err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0
}

// credential is who runs the server: nil (ourselves) unless we are root,
// then the postgres system user, or nobody.
func credential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	for _, name := range []string{"postgres", "nobody"} {
		u, err := user.Lookup(name)
		if err != nil {
			continue
		}
		uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
		gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
		if err1 == nil && err2 == nil {
			return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
		}
	}
	return nil, errors.New("running as root, and neither a postgres nor a nobody user exists to run the server as")
}
