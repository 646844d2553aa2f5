// Package queue is how checkfleet talks to SQS: building the aws-sdk-go-v2
// client from the SDK's own settings, and provisioning queues with their
// dead-letter queues. The consumers (worker, scheduler) declare the few SQS
// methods they call; this package gives them a real *sqs.Client.
package queue

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// ClientConfig says where the SQS client points. The zero value uses the
// SDK's conventions only (AWS_REGION, AWS_ENDPOINT_URL_SQS, shared config and
// credentials), so the same binary talks to AWS or to a local endpoint.
type ClientConfig struct {
	// Endpoint, when set, overrides the SDK's endpoint resolution, e.g.
	// http://127.0.0.1:9324 for the embedded endpoint of `scheduler dev`.
	Endpoint string
	// Region overrides the SDK's region. A local endpoint without any
	// region configured gets us-east-1.
	Region string
	// Local marks an endpoint that does not authenticate (sqslocal): the
	// client signs with fixed dummy credentials instead of looking for real
	// ones, so a developer machine needs no AWS setup.
	Local bool
	// MaxConns bounds idle connections kept per host (default 64). Long
	// polls hold a connection each, so it must exceed the number of
	// concurrent receives plus sends.
	MaxConns int
}

// NewClient builds an SQS client from cfg and the SDK's default chain.
func NewClient(ctx context.Context, cfg ClientConfig) (*sqs.Client, error) {
	maxConns := cfg.MaxConns
	if maxConns <= 0 {
		maxConns = 64
	}
	httpClient := awshttp.NewBuildableClient().WithTransportOptions(func(t *http.Transport) {
		t.MaxIdleConns = maxConns
		t.MaxIdleConnsPerHost = maxConns
		t.IdleConnTimeout = 90 * time.Second
		// Room for a whole request (headers and a 10-message batch) in one
		// write.
		t.WriteBufferSize = 64 << 10
	})
	opts := []func(*config.LoadOptions) error{config.WithHTTPClient(httpClient)}
	if cfg.Region != "" {
		opts = append(opts, config.WithRegion(cfg.Region))
	}
	if cfg.Local {
		opts = append(opts, config.WithCredentialsProvider(
			credentials.NewStaticCredentialsProvider("checkfleet-local", "checkfleet-local", "")))
	}
	awsCfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("load AWS configuration: %w", err)
	}
	if awsCfg.Region == "" {
		if !cfg.Local && cfg.Endpoint == "" {
			return nil, fmt.Errorf("no AWS region configured: set AWS_REGION or the shared config's region")
		}
		awsCfg.Region = "us-east-1"
	}
	return sqs.NewFromConfig(awsCfg, func(o *sqs.Options) {
		o.HTTPClient = detachedBodies{o.HTTPClient}
		if cfg.Endpoint != "" {
			o.BaseEndpoint = aws.String(cfg.Endpoint)
		}
	}), nil
}

// httpDoer is the HTTP client the SDK calls (smithy-go's HTTPClient).
type httpDoer interface {
	Do(*http.Request) (*http.Response, error)
}

// detachedBodies gives net/http its own in-memory copy of every request body.
//
// Why: smithy-go closes the request body as soon as Do returns, which is
// when the response headers have arrived. net/http's write loop may still be
// finishing that request then: after sending Content-Length bytes it reads the
// body once more to check that it has ended, and smithy's closed body answers
// that read (through WriteTo) with io.EOF as an error. net/http takes it for a
// failed write and closes the connection while the response body is still
// being read, so the call fails after a 200 with "use of closed network
// connection" (aws-sdk-go-v2 issues #1825, #2737; smithy-go v1.28.9 still
// does it). For ReceiveMessage that is worse than a retry: SQS has handed out
// the messages of the lost response, and they stay invisible until their
// visibility timeout. A body net/http owns cannot be closed under it, and an
// in-memory body is also written with its headers in one flush. SQS request
// bodies are small JSON documents, so the copy is cheap.
type detachedBodies struct{ next httpDoer }

// Do implements httpDoer.
func (d detachedBodies) Do(req *http.Request) (*http.Response, error) {
	if req.Body == nil || req.Body == http.NoBody {
		return d.next.Do(req)
	}
	body, err := io.ReadAll(req.Body)
	if err != nil {
		return nil, fmt.Errorf("read request body: %w", err)
	}
	detached := req.Clone(req.Context())
	detached.Body = io.NopCloser(bytes.NewReader(body))
	detached.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	detached.ContentLength = int64(len(body))
	return d.next.Do(detached)
}
