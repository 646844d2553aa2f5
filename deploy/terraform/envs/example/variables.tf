variable "env" {
  description = "Name of this environment (a tag on everything)."
  type        = string
  default     = "example"
}

variable "region" {
  description = "The one region of this environment."
  type        = string
  default     = "eu-west-1"
}

variable "locations" {
  description = "Check locations served from this region (one jobs queue each)."
  type        = set(string)
  default     = ["eu-west-1"]
}

variable "host_count" {
  description = "Worker hosts (w-01 ... w-NN), five workers each."
  type        = number
  default     = 3
}

variable "ring" {
  description = "The worker hosts' fleet ring."
  type        = string
  default     = "production"
}

variable "worker_image_repository" {
  description = "ECR repository of the worker image (make images; pushed by CI/CD)."
  type        = string
}

variable "worker_image_repository_arn" {
  description = "ARN of that repository."
  type        = string
}

variable "worker_image_tag" {
  description = "Worker image tag new hosts start on (a fleet deploy moves running hosts)."
  type        = string
}

variable "supervisor_release" {
  description = "The supervisor binary new worker hosts install: url and sha256."
  type = object({
    url    = string
    sha256 = string
  })
}

variable "scheduler_release" {
  description = "The scheduler binary of the current control-plane instance."
  type = object({
    url    = string
    sha256 = string
  })
}

variable "next_scheduler_release" {
  description = "During a control-plane swap: the release of the instance beside it (modules/control_plane/README.md)."
  type = object({
    url    = string
    sha256 = string
  })
  default = null
}

variable "control_plane_eip_on" {
  description = "current or next: which control-plane instance holds the Elastic IP."
  type        = string
  default     = "current"
}

variable "checks_s3_uri" {
  description = "s3://bucket/key of checks.yaml."
  type        = string
}

variable "api_token" {
  description = "The operators' API token of the control plane."
  type        = string
  sensitive   = true
}

variable "fleet_join_token" {
  description = "The fleet join token new hosts present."
  type        = string
  sensitive   = true
}

variable "ami_id" {
  description = "Debian 12 (bookworm) amd64 AMI of every host."
  type        = string
}

variable "vpc_cidr" {
  description = "The VPC's address range."
  type        = string
  default     = "10.40.0.0/16"
}

variable "operator_cidrs" {
  description = "Addresses the operators reach the control plane's API and status page from."
  type        = list(string)
}

variable "alarm_topic_arn" {
  description = "SNS topic the queue alarms notify (null: none)."
  type        = string
  default     = null
}
