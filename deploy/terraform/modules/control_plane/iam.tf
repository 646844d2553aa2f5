# The scheduler host's role: send jobs to the jobs queues, ingest the
# results queue, read the queues' depths (status page), read the database
# password and the checks file. No "*" action and no "*" resource.

data "aws_iam_policy_document" "assume" {
  statement {
    sid     = "Ec2AssumesTheSchedulerRole"
    effect  = "Allow"
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ec2.amazonaws.com"]
    }
  }
}

data "aws_iam_policy_document" "scheduler" {
  statement {
    sid       = "SendJobs"
    effect    = "Allow"
    actions   = ["sqs:SendMessage", "sqs:GetQueueAttributes"]
    resources = values(var.jobs_queue_arns)
  }

  statement {
    sid       = "IngestResults"
    effect    = "Allow"
    actions   = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes"]
    resources = [var.results_queue_arn]
  }

  dynamic "statement" {
    for_each = var.queue_kms_key_arn == null ? [] : [var.queue_kms_key_arn]
    content {
      sid       = "UseTheQueuesKey"
      effect    = "Allow"
      actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
      resources = [statement.value]
    }
  }

  statement {
    sid       = "ReadTheDatabasePassword"
    effect    = "Allow"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = [aws_db_instance.this.master_user_secret[0].secret_arn]
  }

  statement {
    sid       = "ReadTheChecksAndRelease"
    effect    = "Allow"
    actions   = ["s3:GetObject"]
    resources = [for o in local.s3_objects : "arn:aws:s3:::${o}"]
  }
}

resource "aws_iam_role" "scheduler" {
  name_prefix        = "${var.name_prefix}-scheduler-"
  assume_role_policy = data.aws_iam_policy_document.assume.json
  tags               = var.tags
}

resource "aws_iam_role_policy" "scheduler" {
  name   = "checkfleet-scheduler"
  role   = aws_iam_role.scheduler.id
  policy = data.aws_iam_policy_document.scheduler.json
}

resource "aws_iam_instance_profile" "scheduler" {
  name_prefix = "${var.name_prefix}-scheduler-"
  role        = aws_iam_role.scheduler.name
  tags        = var.tags
}
