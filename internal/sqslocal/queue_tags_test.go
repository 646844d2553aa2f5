package sqslocal

import (
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

func TestTags(t *testing.T) {
	e := newEnv(t, Options{})
	out, err := e.sqs.CreateQueue(e.ctx(), &sqs.CreateQueueInput{QueueName: aws.String("jobs"), Tags: map[string]string{"team": "checks"}})
	if err != nil {
		t.Fatal(err)
	}
	u := out.QueueUrl
	if _, err := e.sqs.TagQueue(e.ctx(), &sqs.TagQueueInput{QueueUrl: u, Tags: map[string]string{"env": "dev", "team": "fleet"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.sqs.UntagQueue(e.ctx(), &sqs.UntagQueueInput{QueueUrl: u, TagKeys: []string{"env"}}); err != nil {
		t.Fatal(err)
	}
	tags, err := e.sqs.ListQueueTags(e.ctx(), &sqs.ListQueueTagsInput{QueueUrl: u})
	if err != nil || len(tags.Tags) != 1 || tags.Tags["team"] != "fleet" {
		t.Fatalf("tags = %v, %v", tags.Tags, err)
	}
	many := map[string]string{}
	for i := range 50 {
		many[fmt.Sprint("k", i)] = "v"
	}
	_, err = e.sqs.TagQueue(e.ctx(), &sqs.TagQueueInput{QueueUrl: u, Tags: many})
	wantGenericError(t, err, "InvalidParameterValue")
}
