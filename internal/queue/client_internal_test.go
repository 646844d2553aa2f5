package queue

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// smithyBody behaves as smithy-go's request body does: it serves its bytes,
// and once closed (smithy closes it as soon as Do returns) a further read
// fails. Its first read after the bytes, which is net/http's check that the
// body has ended, waits for that close, so the race seen under load (the
// check running after Do returned) happens every time.
type smithyBody struct {
	data   *strings.Reader
	closed chan struct{}
	once   sync.Once
}

func (b *smithyBody) Read(p []byte) (int, error) {
	if b.data.Len() > 0 {
		n, _ := b.data.Read(p)
		if b.data.Len() == 0 {
			return n, io.EOF
		}
		return n, nil
	}
	<-b.closed
	return 0, errors.New("read of a closed body")
}

func (b *smithyBody) Close() error {
	b.once.Do(func() { close(b.closed) })
	return nil
}

// closeAfterDo is the SDK's handler: it closes the request body when Do
// returns, before the response body is read.
type closeAfterDo struct{ next httpDoer }

func (c closeAfterDo) Do(req *http.Request) (*http.Response, error) {
	resp, err := c.next.Do(req)
	req.Body.Close()
	return resp, err
}

func TestResponseSurvivesTheSDKClosingTheRequestBody(t *testing.T) {
	// serve answers a ReceiveMessage in two parts: its start at once, the
	// rest when rest is sent (the client has its headers and has closed the
	// request body). A server per case: a handler of the first case still
	// waiting (it has not yet noticed its client hang up) must not take the
	// second case's signal.
	serve := func(t *testing.T) (*httptest.Server, chan struct{}) {
		rest := make(chan struct{})
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if _, err := io.Copy(io.Discard, r.Body); err != nil {
				t.Errorf("server read body: %v", err)
			}
			io.WriteString(w, `{"Messages":[`)
			w.(http.Flusher).Flush()
			select {
			case <-rest:
				io.WriteString(w, `]}`)
			case <-r.Context().Done(): // the client closed the connection
			}
		}))
		t.Cleanup(srv.Close)
		return srv, rest
	}

	for _, tc := range []struct {
		name   string
		client func(*http.Client) httpDoer
		broken bool
	}{
		// The unprotected client shows the failure the guard exists for, so
		// this test fails if the mechanism it guards against ever changes
		// (and the guard could go).
		{"bare net/http", func(c *http.Client) httpDoer { return closeAfterDo{c} }, true},
		{"detached bodies", func(c *http.Client) httpDoer { return closeAfterDo{detachedBodies{c}} }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, rest := serve(t)
			body := `{"QueueUrl":"q","MaxNumberOfMessages":10}`
			req, err := http.NewRequest(http.MethodPost, srv.URL, &smithyBody{data: strings.NewReader(body), closed: make(chan struct{})})
			if err != nil {
				t.Fatal(err)
			}
			req.ContentLength = int64(len(body))
			resp, err := tc.client(srv.Client()).Do(req)
			if err != nil {
				t.Fatalf("Do: %v", err)
			}
			defer resp.Body.Close()
			readDone := make(chan error, 1)
			go func() {
				_, err := io.ReadAll(resp.Body)
				readDone <- err
			}()
			if tc.broken {
				// net/http closes the connection under the response.
				select {
				case err := <-readDone:
					if err == nil || !strings.Contains(err.Error(), "use of closed network connection") {
						t.Fatalf("reading the response: %v; want use of closed network connection", err)
					}
				case <-time.After(10 * time.Second):
					t.Fatal("net/http kept the connection: the failure this guard prevents no longer happens")
				}
				return
			}
			rest <- struct{}{}
			select {
			case err := <-readDone:
				if err != nil {
					t.Fatalf("reading the response: %v", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("no end of the response within 10s")
			}
		})
	}
}
