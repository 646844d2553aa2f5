// Package durable writes files so that a crash (kill -9, a power loss)
// leaves a name holding either its old content or its new content, whole,
// and locks a directory for one process at a time.
//
// WriteFile and File replace a file the one way that survives a crash on
// Linux file systems: write a temporary file in the same directory, fsync
// it, rename it over the name, fsync the directory (without that last
// step the rename itself may be lost). LockDir takes an flock on a file in
// a directory, released when the holder closes it or dies, so a stale lock
// never needs cleaning up.
//
// sqslocal's journal keeps its own file handling: its log and snapshots
// are written and renamed in an order of their own.
package durable
