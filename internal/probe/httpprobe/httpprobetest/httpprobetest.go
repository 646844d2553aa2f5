// Package httpprobetest serves HTTP targets that net/http's server cannot
// be made to be, for tests of API checks and of what their results carry.
package httpprobetest

import (
	"bufio"
	"io"
	"net"
	"sync"
	"testing"
)

// RawTarget answers every connection on loopback with response, written as
// is after the request head (a status line such as "HTTP/1.1 000 X" that no
// http.Handler can write), until the test ends. It returns the target's URL.
func RawTarget(t testing.TB, response string) string {
	t.Helper()
	return RawTargetAt(t, "127.0.0.1:0", response)
}

// RawTargetAt is RawTarget listening on addr. Each connection is answered
// once and closed, at a fraction of the CPU of an http.Server: a
// benchmark's targets share the cores with what it measures.
func RawTargetAt(t testing.TB, addr, response string) string {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { ln.Close(); <-done })
	go func() {
		defer close(done)
		var conns sync.WaitGroup
		defer conns.Wait()
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Go(func() {
				defer conn.Close()
				br := bufio.NewReader(conn)
				for {
					line, err := br.ReadSlice('\n')
					if err != nil || string(line) == "\r\n" {
						break
					}
				}
				_, _ = io.WriteString(conn, response)
			})
		}
	}()
	return "http://" + ln.Addr().String() + "/"
}
