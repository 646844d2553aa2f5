# The control plane: the scheduler host (scheduler serve) with PostgreSQL on
# RDS, reached at an Elastic IP. The host is replaced by a side-resource
# swap (README.md): a second instance ("next") is created beside the
# current one, the Elastic IP moves to it once it is ready, the old one is
# kept for a rollback (move the EIP back), then removed. Two schedulers
# on one PostgreSQL store are safe: one leads (a lease), each run is
# enqueued once.

locals {
  releases = merge(
    { current = var.release },
    var.next_release == null ? {} : { next = var.next_release },
  )
  s3_objects = distinct(concat(
    [trimprefix(var.checks_s3_uri, "s3://")],
    [for r in values(local.releases) : trimprefix(r.url, "s3://") if startswith(r.url, "s3://")],
  ))
}

resource "aws_db_subnet_group" "this" {
  name_prefix = "${var.name_prefix}-"
  subnet_ids  = var.db_subnet_ids
  tags        = var.tags
}

resource "aws_db_instance" "this" {
  identifier_prefix = "${var.name_prefix}-"
  engine            = "postgres"
  engine_version    = "16"
  instance_class    = var.db_instance_class
  db_name           = "checkfleet"
  username          = "checkfleet"
  # The password lives in Secrets Manager, made and rotated by RDS; the
  # scheduler host reads it at start.
  manage_master_user_password = true

  allocated_storage      = var.db_allocated_storage_gb
  max_allocated_storage  = var.db_allocated_storage_gb * 4
  storage_type           = "gp3"
  storage_encrypted      = true
  multi_az               = var.db_multi_az
  db_subnet_group_name   = aws_db_subnet_group.this.name
  vpc_security_group_ids = var.db_security_group_ids
  publicly_accessible    = false

  backup_retention_period         = 14
  deletion_protection             = true
  skip_final_snapshot             = false
  final_snapshot_identifier       = "${var.name_prefix}-final"
  copy_tags_to_snapshot           = true
  auto_minor_version_upgrade      = true
  performance_insights_enabled    = true
  enabled_cloudwatch_logs_exports = ["postgresql"]
  tags                            = var.tags
}

resource "aws_instance" "scheduler" {
  for_each = local.releases

  ami                    = var.ami_id
  instance_type          = var.instance_type
  subnet_id              = var.subnet_id
  vpc_security_group_ids = var.security_group_ids
  iam_instance_profile   = aws_iam_instance_profile.scheduler.name
  monitoring             = true

  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 1
  }

  root_block_device {
    volume_size = 20
    volume_type = "gp3"
    encrypted   = true
  }

  user_data = templatefile("${path.module}/user_data.sh.tftpl", {
    slot             = each.key
    region           = var.region
    scheduler_url    = each.value.url
    scheduler_sha256 = each.value.sha256
    checks_s3_uri    = var.checks_s3_uri
    db_host          = aws_db_instance.this.address
    db_port          = aws_db_instance.this.port
    db_name          = aws_db_instance.this.db_name
    db_secret_arn    = aws_db_instance.this.master_user_secret[0].secret_arn
    jobs_queues      = join(",", [for l in sort(keys(var.jobs_queue_urls)) : "${l}=${var.jobs_queue_urls[l]}"])
    results_queue    = var.results_queue_url
    api_token        = var.api_token
    fleet_join_token = var.fleet_join_token
  })
  user_data_replace_on_change = true

  tags = merge(var.tags, { Name = "checkfleet-scheduler-${each.key}", "checkfleet:role" = "control-plane" })

  lifecycle {
    create_before_destroy = true
  }
}

# A new scheduler host is ready when its /readyz answers (it reached the
# store and the queues); its bootstrap prints the verdict on the console.
resource "terraform_data" "ready" {
  for_each = aws_instance.scheduler

  triggers_replace = each.value.id

  provisioner "local-exec" {
    command = "${path.module}/../../scripts/wait-ready.sh"
    environment = {
      INSTANCE_ID   = each.value.id
      HOST          = "scheduler-${each.key}"
      AWS_REGION    = var.region
      READY_TIMEOUT = var.ready_timeout
    }
  }

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_eip" "this" {
  domain = "vpc"
  tags   = merge(var.tags, { Name = "checkfleet-control-plane" })
}

# The EIP is on the instance eip_on names, and moves only once that one
# passed its readiness gate.
resource "aws_eip_association" "this" {
  allocation_id = aws_eip.this.id
  instance_id   = aws_instance.scheduler[var.eip_on].id

  depends_on = [terraform_data.ready]
}
