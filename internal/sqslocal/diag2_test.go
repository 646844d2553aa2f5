package sqslocal

import (
	"fmt"
	"os"
	"time"
)

func init() {
	if os.Getenv("DIAG") == "" {
		return
	}
	benchHook = func(srv *Server) {
		go func() {
			start := time.Now()
			for {
				time.Sleep(time.Second)
				if srv.isDone() {
					return
				}
				srv.mu.RLock()
				for _, q := range srv.queues {
					q.mu.Lock()
					v, in, d := q.counts()
					q.mu.Unlock()
					fmt.Fprintf(os.Stderr, "%d %v: visible %d inflight %d delayed %d polling %d\n", time.Now().UnixMilli(), time.Since(start).Round(time.Second), v, in, d, srv.polling.Load())
				}
				srv.mu.RUnlock()
			}
		}()
	}
}

func (s *Server) isDone() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}
