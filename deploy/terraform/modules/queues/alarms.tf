# CloudWatch alarms: jobs waiting too long or piling up (checks run late),
# results piling up (the control plane does not ingest), and any message in
# any dead-letter queue. SQS publishes these metrics every minute.

locals {
  dlqs = merge(
    { for l, q in aws_sqs_queue.jobs_dlq : "jobs-${l}" => q.name },
    { "results" = aws_sqs_queue.results_dlq.name },
  )
}

resource "aws_cloudwatch_metric_alarm" "jobs_oldest" {
  for_each = var.locations

  alarm_name          = "${aws_sqs_queue.jobs[each.key].name}-oldest-job"
  alarm_description   = "The oldest job of location ${each.key} has waited over ${var.oldest_job_alarm_seconds}s: checks run late (too few ready workers, or none)."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateAgeOfOldestMessage"
  dimensions          = { QueueName = aws_sqs_queue.jobs[each.key].name }
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 3
  datapoints_to_alarm = 2
  threshold           = var.oldest_job_alarm_seconds
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.alarm_actions
  tags                = var.tags
}

resource "aws_cloudwatch_metric_alarm" "jobs_depth" {
  for_each = var.locations

  alarm_name          = "${aws_sqs_queue.jobs[each.key].name}-depth"
  alarm_description   = "Over ${var.depth_alarm_messages} jobs wait in location ${each.key}."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = aws_sqs_queue.jobs[each.key].name }
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 5
  datapoints_to_alarm = 3
  threshold           = var.depth_alarm_messages
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.alarm_actions
  tags                = var.tags
}

resource "aws_cloudwatch_metric_alarm" "results_oldest" {
  alarm_name          = "${aws_sqs_queue.results.name}-oldest-result"
  alarm_description   = "The oldest result has waited over ${var.oldest_result_alarm_seconds}s: the control plane does not ingest."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateAgeOfOldestMessage"
  dimensions          = { QueueName = aws_sqs_queue.results.name }
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 3
  datapoints_to_alarm = 2
  threshold           = var.oldest_result_alarm_seconds
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.alarm_actions
  tags                = var.tags
}

resource "aws_cloudwatch_metric_alarm" "results_depth" {
  alarm_name          = "${aws_sqs_queue.results.name}-depth"
  alarm_description   = "Over ${var.depth_alarm_messages} results wait to be ingested."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = aws_sqs_queue.results.name }
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 5
  datapoints_to_alarm = 3
  threshold           = var.depth_alarm_messages
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.alarm_actions
  tags                = var.tags
}

# One message in a dead-letter queue is poison (ARCHITECTURE.md): an alarm
# at the first one, on every DLQ.
resource "aws_cloudwatch_metric_alarm" "dlq_not_empty" {
  for_each = local.dlqs

  alarm_name          = "${each.value}-not-empty"
  alarm_description   = "A message reached the dead-letter queue ${each.value}: read it (aws sqs receive-message) and see why it could not be handled."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = each.value }
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.alarm_actions
  tags                = var.tags
}
