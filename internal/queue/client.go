// Package queue is how checkfleet talks to SQS: building the aws-sdk-go-v2
// client from the SDK's own settings, and provisioning queues with their
// dead-letter queues. The consumers (worker, scheduler) declare the few SQS
// methods they call; this package gives them a real *sqs.Client.
package queue

import (
	"context"
	"fmt"
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
		// A 4 KiB write buffer let net/http fail a large batch mid-body and
		// retry it, stranding a received batch; see sqslocal's notes.
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
		if cfg.Endpoint != "" {
			o.BaseEndpoint = aws.String(cfg.Endpoint)
		}
	}), nil
}
