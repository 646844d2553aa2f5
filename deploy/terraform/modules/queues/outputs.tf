output "jobs_queue_urls" {
  description = "Jobs queue URL by location (scheduler serve --jobs-queue LOCATION=URL; supervisor run --jobs-queue URL)."
  value       = { for l, q in aws_sqs_queue.jobs : l => q.url }
}

output "jobs_queue_arns" {
  description = "Jobs queue ARN by location (the worker hosts' role may consume these)."
  value       = { for l, q in aws_sqs_queue.jobs : l => q.arn }
}

output "results_queue_url" {
  description = "The region's results queue URL (scheduler serve --results-queue; supervisor run --results-queue)."
  value       = aws_sqs_queue.results.url
}

output "results_queue_arn" {
  description = "The region's results queue ARN."
  value       = aws_sqs_queue.results.arn
}

output "dlq_arns" {
  description = "Every dead-letter queue's ARN, by jobs-LOCATION and results."
  value = merge(
    { for l, q in aws_sqs_queue.jobs_dlq : "jobs-${l}" => q.arn },
    { "results" = aws_sqs_queue.results_dlq.arn },
  )
}
