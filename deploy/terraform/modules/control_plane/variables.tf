variable "region" {
  description = "AWS region of the control plane (its queues' region)."
  type        = string
}

variable "release" {
  description = "The scheduler release the current instance runs: url (https:// or s3://) of the static scheduler binary and its sha256."
  type = object({
    url    = string
    sha256 = string
  })
}

variable "next_release" {
  description = "Set to bring up a second instance (key \"next\") beside the current one on this release, for a side-resource swap (README.md); null when no swap is under way."
  type = object({
    url    = string
    sha256 = string
  })
  default = null
}

variable "eip_on" {
  description = "Which instance holds the Elastic IP: current, or next during and after a swap (move it back for a rollback)."
  type        = string
  default     = "current"
  validation {
    condition     = contains(["current", "next"], var.eip_on)
    error_message = "eip_on: current or next."
  }
}

variable "checks_s3_uri" {
  description = "s3://bucket/key of the checks file: fetched at boot and every minute after (the scheduler watches the file and reloads it)."
  type        = string
  validation {
    condition     = can(regex("^s3://[^/]+/.+", var.checks_s3_uri))
    error_message = "checks_s3_uri: s3://bucket/key."
  }
}

variable "jobs_queue_urls" {
  description = "Jobs queue URL by location (modules/queues jobs_queue_urls)."
  type        = map(string)
}

variable "jobs_queue_arns" {
  description = "Jobs queue ARN by location: the queues the scheduler may send to."
  type        = map(string)
}

variable "results_queue_url" {
  description = "The results queue URL the scheduler ingests."
  type        = string
}

variable "results_queue_arn" {
  description = "The results queue ARN: the only queue the scheduler may receive from."
  type        = string
}

variable "queue_kms_key_arn" {
  description = "KMS key of the queues, if any; null for SSE-SQS."
  type        = string
  default     = null
}

variable "api_token" {
  description = "The operators' API token (scheduler serve --token: run-now and supervisor fleet commands)."
  type        = string
  sensitive   = true
}

variable "fleet_join_token" {
  description = "The fleet join token new worker hosts present (scheduler serve --fleet-join-token)."
  type        = string
  sensitive   = true
}

variable "ami_id" {
  description = "AMI of the scheduler host: Debian 12 (bookworm) with cloud-init, amd64."
  type        = string
}

variable "instance_type" {
  description = "Instance type of the scheduler host."
  type        = string
  default     = "m6i.large"
}

variable "subnet_id" {
  description = "Public subnet of the scheduler host (it holds the Elastic IP)."
  type        = string
}

variable "security_group_ids" {
  description = "Security groups of the scheduler host: inbound 8080 from the worker hosts and the operators."
  type        = list(string)
}

variable "db_subnet_ids" {
  description = "Private subnets of the database (two zones at least)."
  type        = list(string)
}

variable "db_security_group_ids" {
  description = "Security groups of the database: inbound 5432 from the scheduler host's group."
  type        = list(string)
}

variable "db_instance_class" {
  description = "RDS instance class."
  type        = string
  default     = "db.m6g.large"
}

variable "db_allocated_storage_gb" {
  description = "RDS storage (grows by itself up to 4 times this)."
  type        = number
  default     = 50
}

variable "db_multi_az" {
  description = "A standby in a second zone (failover in about a minute)."
  type        = bool
  default     = true
}

variable "ready_timeout" {
  description = "How long the readiness gate waits for a new scheduler host's /readyz."
  type        = string
  default     = "10m"
}

variable "name_prefix" {
  description = "Prefix of the names of the role, profile and database."
  type        = string
  default     = "checkfleet"
}

variable "tags" {
  description = "Tags on every resource."
  type        = map(string)
  default     = {}
}
