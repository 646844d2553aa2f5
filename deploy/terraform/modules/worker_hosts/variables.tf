variable "region" {
  description = "AWS region of these hosts (given to the workers as AWS_REGION)."
  type        = string
}

variable "hosts" {
  description = "Host names, one EC2 instance each (for_each: one host can be replaced alone). The name is the host's id in the fleet (supervisor run --name)."
  type        = set(string)
  validation {
    condition     = alltrue([for h in var.hosts : can(regex("^[a-z0-9][a-z0-9-]{0,62}$", h))])
    error_message = "hosts: each name lower-case letters, digits and dashes, starting with a letter or digit."
  }
}

variable "ring" {
  description = "The hosts' fleet ring: dev, canary or production."
  type        = string
  validation {
    condition     = contains(["dev", "canary", "production"], var.ring)
    error_message = "ring: dev, canary or production."
  }
}

variable "jobs_queue_urls" {
  description = "Jobs queue URL by location (modules/queues jobs_queue_urls): the workers consume every one."
  type        = map(string)
}

variable "jobs_queue_arns" {
  description = "Jobs queue ARN by location (modules/queues jobs_queue_arns): the only queues the role may receive from."
  type        = map(string)
}

variable "results_queue_url" {
  description = "Results queue URL (modules/queues results_queue_url)."
  type        = string
}

variable "results_queue_arn" {
  description = "Results queue ARN: the only queue the role may send results to."
  type        = string
}

variable "queue_kms_key_arn" {
  description = "KMS key the queues are encrypted with, if any (modules/queues kms_key_arn); null for SSE-SQS."
  type        = string
  default     = null
}

variable "image_repository" {
  description = "Worker image repository, e.g. 123456789012.dkr.ecr.eu-west-1.amazonaws.com/checkfleet-worker."
  type        = string
}

variable "image_repository_arn" {
  description = "ARN of that ECR repository: the only repository the role may pull from."
  type        = string
}

variable "image_tag" {
  description = "Worker image tag a new host starts on (resolved once to an image id; later a fleet deploy moves it, not Terraform)."
  type        = string
}

variable "supervisor_url" {
  description = "Where the supervisor release (the static binary) is downloaded from: https://... or s3://bucket/key."
  type        = string
  validation {
    condition     = can(regex("^(https|s3)://", var.supervisor_url))
    error_message = "supervisor_url: https://... or s3://bucket/key."
  }
}

variable "supervisor_sha256" {
  description = "SHA-256 of the supervisor binary at supervisor_url; a host refuses a binary that does not match."
  type        = string
  validation {
    condition     = can(regex("^[0-9a-f]{64}$", var.supervisor_sha256))
    error_message = "supervisor_sha256: 64 lower-case hex digits (sha256sum)."
  }
}

variable "control_url" {
  description = "The control plane's URL the supervisors register with and heartbeat to (modules/control_plane url)."
  type        = string
}

variable "join_token" {
  description = "The control plane's fleet join token (scheduler serve --fleet-join-token), presented once by a new host."
  type        = string
  sensitive   = true
}

variable "slots" {
  description = "Worker containers per host."
  type        = number
  default     = 5
}

variable "ready_timeout" {
  description = "How long the readiness gate waits for a new host's slots to be ready (supervisor status --wait-ready --timeout)."
  type        = string
  default     = "10m"
  validation {
    condition     = can(regex("^[0-9]+[sm]$", var.ready_timeout))
    error_message = "ready_timeout: a number of seconds or minutes, e.g. 600s or 10m."
  }
}

variable "ami_id" {
  description = "AMI of the hosts: Debian 12 (bookworm) with cloud-init, amd64 (the user data uses apt-get and systemd)."
  type        = string
}

variable "instance_type" {
  description = "Instance type: five workers, each with a headless Chromium for two browser checks at once (512 MiB limit by default)."
  type        = string
  default     = "m6i.xlarge"
}

variable "subnet_ids" {
  description = "Private subnets the hosts are spread over (in host-name order), with a route to SQS, ECR and the control plane."
  type        = list(string)
}

variable "security_group_ids" {
  description = "Security groups of the hosts. The hosts need no inbound rule; outbound HTTPS (SQS, ECR, S3, checked sites, the control plane)."
  type        = list(string)
}

variable "root_volume_gb" {
  description = "Root volume size (images of two worker versions during an upgrade)."
  type        = number
  default     = 40
}

variable "name_prefix" {
  description = "Prefix of the IAM role, instance profile and launch template names."
  type        = string
  default     = "checkfleet-worker"
}

variable "tags" {
  description = "Tags on every resource."
  type        = map(string)
  default     = {}
}
