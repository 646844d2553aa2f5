# The queues of one region: per location a jobs queue with its dead-letter
# queue, and the region's results queue with its dead-letter queue. Every
# queue is encrypted at rest; every source queue has a redrive policy and
# every dead-letter queue an alarm on its first message (ARCHITECTURE.md: a
# DLQ is for poison only, so one message there is worth a look).

locals {
  # SSE-SQS unless a KMS key is given (the provider refuses both set).
  sse_managed = var.kms_key_arn == null ? true : null
  # Reuse the data key for 5 minutes (the default) when a KMS key is used.
  kms_reuse = var.kms_key_arn == null ? null : 300
}

resource "aws_sqs_queue" "jobs_dlq" {
  for_each = var.locations

  name                              = "checkfleet-jobs-${each.key}-dlq"
  message_retention_seconds         = var.dlq_retention_seconds
  sqs_managed_sse_enabled           = local.sse_managed
  kms_master_key_id                 = var.kms_key_arn
  kms_data_key_reuse_period_seconds = local.kms_reuse
  tags                              = merge(var.tags, { "checkfleet:location" = each.key, "checkfleet:role" = "jobs-dlq" })
}

resource "aws_sqs_queue" "jobs" {
  for_each = var.locations

  name                              = "checkfleet-jobs-${each.key}"
  visibility_timeout_seconds        = var.visibility_timeout_seconds
  message_retention_seconds         = var.message_retention_seconds
  receive_wait_time_seconds         = 20
  sqs_managed_sse_enabled           = local.sse_managed
  kms_master_key_id                 = var.kms_key_arn
  kms_data_key_reuse_period_seconds = local.kms_reuse
  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.jobs_dlq[each.key].arn
    maxReceiveCount     = var.max_receive_count
  })
  tags = merge(var.tags, { "checkfleet:location" = each.key, "checkfleet:role" = "jobs" })
}

# Only its own jobs queue may dead-letter into a jobs DLQ.
resource "aws_sqs_queue_redrive_allow_policy" "jobs_dlq" {
  for_each = var.locations

  queue_url = aws_sqs_queue.jobs_dlq[each.key].id
  redrive_allow_policy = jsonencode({
    redrivePermission = "byQueue"
    sourceQueueArns   = [aws_sqs_queue.jobs[each.key].arn]
  })
}

resource "aws_sqs_queue" "results_dlq" {
  name                              = "checkfleet-results-${var.region}-dlq"
  message_retention_seconds         = var.dlq_retention_seconds
  sqs_managed_sse_enabled           = local.sse_managed
  kms_master_key_id                 = var.kms_key_arn
  kms_data_key_reuse_period_seconds = local.kms_reuse
  tags                              = merge(var.tags, { "checkfleet:role" = "results-dlq" })
}

resource "aws_sqs_queue" "results" {
  name = "checkfleet-results-${var.region}"
  # Ingest records a result and deletes it in well under a second; the
  # timeout only decides how soon a result an ingest took and did not
  # record is offered again.
  visibility_timeout_seconds        = 60
  message_retention_seconds         = var.message_retention_seconds
  receive_wait_time_seconds         = 20
  sqs_managed_sse_enabled           = local.sse_managed
  kms_master_key_id                 = var.kms_key_arn
  kms_data_key_reuse_period_seconds = local.kms_reuse
  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.results_dlq.arn
    maxReceiveCount     = var.max_receive_count
  })
  tags = merge(var.tags, { "checkfleet:role" = "results" })
}

resource "aws_sqs_queue_redrive_allow_policy" "results_dlq" {
  queue_url = aws_sqs_queue.results_dlq.id
  redrive_allow_policy = jsonencode({
    redrivePermission = "byQueue"
    sourceQueueArns   = [aws_sqs_queue.results.arn]
  })
}
