# One region end to end: the queues of its locations, the control plane
# (scheduler + PostgreSQL behind an Elastic IP) and the worker hosts.

locals {
  hosts = toset([for i in range(1, var.host_count + 1) : format("w-%02d", i)])
}

module "queues" {
  source = "../../modules/queues"

  region        = var.region
  locations     = var.locations
  alarm_actions = var.alarm_topic_arn == null ? [] : [var.alarm_topic_arn]
}

module "control_plane" {
  source = "../../modules/control_plane"

  region            = var.region
  release           = var.scheduler_release
  next_release      = var.next_scheduler_release
  eip_on            = var.control_plane_eip_on
  checks_s3_uri     = var.checks_s3_uri
  jobs_queue_urls   = module.queues.jobs_queue_urls
  jobs_queue_arns   = module.queues.jobs_queue_arns
  results_queue_url = module.queues.results_queue_url
  results_queue_arn = module.queues.results_queue_arn
  api_token         = var.api_token
  fleet_join_token  = var.fleet_join_token

  ami_id                = var.ami_id
  subnet_id             = aws_subnet.public[0].id
  security_group_ids    = [aws_security_group.control_plane.id]
  db_subnet_ids         = aws_subnet.private[*].id
  db_security_group_ids = [aws_security_group.db.id]
}

module "workers" {
  source = "../../modules/worker_hosts"

  region               = var.region
  hosts                = local.hosts
  ring                 = var.ring
  jobs_queue_urls      = module.queues.jobs_queue_urls
  jobs_queue_arns      = module.queues.jobs_queue_arns
  results_queue_url    = module.queues.results_queue_url
  results_queue_arn    = module.queues.results_queue_arn
  image_repository     = var.worker_image_repository
  image_repository_arn = var.worker_image_repository_arn
  image_tag            = var.worker_image_tag
  supervisor_url       = var.supervisor_release.url
  supervisor_sha256    = var.supervisor_release.sha256
  control_url          = module.control_plane.url
  join_token           = var.fleet_join_token

  ami_id             = var.ami_id
  subnet_ids         = aws_subnet.private[*].id
  security_group_ids = [aws_security_group.workers.id]
}
