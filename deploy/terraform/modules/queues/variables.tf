variable "region" {
  description = "AWS region of these queues (names the results queue; SQS queues are regional)."
  type        = string
}

variable "locations" {
  description = "Check locations served from this region: one jobs queue (and its DLQ) each, named checkfleet-jobs-LOCATION, the name the supervisor and the worker read the location from."
  type        = set(string)
  validation {
    condition     = length(var.locations) > 0 && alltrue([for l in var.locations : can(regex("^[a-z0-9-]{1,50}$", l))])
    error_message = "locations: at least one, each lower-case letters, digits and dashes (it becomes part of a queue name)."
  }
}

variable "visibility_timeout_seconds" {
  description = <<-EOT
    Visibility timeout of every jobs queue. The worker extends the visibility of
    every job it holds every third of this (internal/worker), so any value works
    while SQS answers; this floor is for when the heartbeat cannot get through:
    a job received by a worker whose extensions all fail must not reappear (and
    run a second time beside the first) before its check can have ended and
    its result been sent and the job deleted: the longest check (4 min,
    check.MaxTimeout) + its run grace (5 s, check.RunGrace) + 20 s for the
    result's send and the job's delete (each bounded by the worker's 10 s
    settle timeout) = 265 s. 300 s is that with a margin; much more only
    delays the retry of jobs a lost host held.
  EOT
  type        = number
  default     = 300
  validation {
    condition     = var.visibility_timeout_seconds >= 265 && var.visibility_timeout_seconds <= 43200
    error_message = "visibility_timeout_seconds: want 265 (the longest check 240 s + 5 s run grace + 20 s to send its result and delete the job) to 43200 (SQS's maximum)."
  }
}

variable "max_receive_count" {
  description = "Receives before a job or result moves to its dead-letter queue. Only poison (a malformed message) should get there: the worker hands a malformed job back after 5 s, so it is dead-lettered after about this many times 5 s."
  type        = number
  default     = 5
}

variable "message_retention_seconds" {
  description = "Retention of the jobs and results queues: longer than the worker's newer-version hold (24 h: a job of a newer schema is kept that long for a newer worker) and than a control-plane outage the results should survive."
  type        = number
  default     = 345600 # 4 days
  validation {
    condition     = var.message_retention_seconds > 86400 && var.message_retention_seconds <= 1209600
    error_message = "message_retention_seconds: want more than 1 day (the worker's newer-version hold) and at most 14 days."
  }
}

variable "dlq_retention_seconds" {
  description = "Retention of the dead-letter queues: SQS keeps a message's first enqueue time when it moves, so this must exceed message_retention_seconds or a dead-lettered message can expire before anyone reads it."
  type        = number
  default     = 1209600 # 14 days, SQS's maximum
}

variable "kms_key_arn" {
  description = "KMS key for server-side encryption; null uses SQS-managed keys (SSE-SQS). With a key the hosts' role also needs kms:Decrypt and kms:GenerateDataKey on it (modules/worker_hosts, queue_kms_key_arn)."
  type        = string
  default     = null
}

variable "oldest_job_alarm_seconds" {
  description = "Alarm when the oldest job of a location has waited this long: checks run late (too few workers, or none)."
  type        = number
  default     = 120
}

variable "depth_alarm_messages" {
  description = "Alarm when this many jobs (or results) wait in a queue."
  type        = number
  default     = 1000
}

variable "oldest_result_alarm_seconds" {
  description = "Alarm when the oldest result has waited this long: the control plane is not ingesting."
  type        = number
  default     = 300
}

variable "alarm_actions" {
  description = "ARNs (SNS topics) told when an alarm fires and when it clears."
  type        = list(string)
  default     = []
}

variable "tags" {
  description = "Tags on every queue and alarm."
  type        = map(string)
  default     = {}
}
