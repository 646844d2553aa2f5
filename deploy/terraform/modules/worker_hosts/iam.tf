# The hosts' role, least privilege: consume this region's jobs queues, send
# results, pull the worker image from its repository (and the supervisor
# release, when it is on S3). No statement has a "*" action; the one "*"
# resource is ecr:GetAuthorizationToken, which AWS defines on no resource
# (it takes "*" alone), in a statement of its own.

data "aws_iam_policy_document" "assume" {
  statement {
    sid     = "Ec2AssumesTheHostRole"
    effect  = "Allow"
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ec2.amazonaws.com"]
    }
  }
}

data "aws_iam_policy_document" "host" {
  # Receive, delete and extend jobs; GetQueueAttributes: the worker reads a
  # queue's visibility timeout to pace its heartbeat; SendMessage: a job of
  # a newer schema than a worker reads is replaced by a delayed copy for a
  # newer worker (queue.Holdback).
  statement {
    sid    = "ConsumeJobs"
    effect = "Allow"
    actions = [
      "sqs:ReceiveMessage",
      "sqs:DeleteMessage",
      "sqs:ChangeMessageVisibility",
      "sqs:GetQueueAttributes",
      "sqs:SendMessage",
    ]
    resources = values(var.jobs_queue_arns)
  }

  statement {
    sid       = "SendResults"
    effect    = "Allow"
    actions   = ["sqs:SendMessage", "sqs:GetQueueAttributes"]
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

  # The one resource wildcard, by AWS's design: GetAuthorizationToken is
  # an account-level call with no resource to name. The token alone pulls
  # nothing: the pull itself needs the next statement, on one repository.
  statement {
    sid       = "EcrAuthTokenHasNoResource"
    effect    = "Allow"
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"]
  }

  statement {
    sid    = "PullTheWorkerImage"
    effect = "Allow"
    actions = [
      "ecr:BatchGetImage",
      "ecr:GetDownloadUrlForLayer",
      "ecr:BatchCheckLayerAvailability",
    ]
    resources = [var.image_repository_arn]
  }

  dynamic "statement" {
    for_each = local.release_on_s3 ? [local.release_object] : []
    content {
      sid       = "GetTheSupervisorRelease"
      effect    = "Allow"
      actions   = ["s3:GetObject"]
      resources = ["arn:aws:s3:::${statement.value}"]
    }
  }
}

resource "aws_iam_role" "host" {
  name_prefix        = "${var.name_prefix}-${var.region}-"
  assume_role_policy = data.aws_iam_policy_document.assume.json
  tags               = var.tags
}

resource "aws_iam_role_policy" "host" {
  name   = "checkfleet-worker-host"
  role   = aws_iam_role.host.id
  policy = data.aws_iam_policy_document.host.json
}

resource "aws_iam_instance_profile" "host" {
  name_prefix = "${var.name_prefix}-${var.region}-"
  role        = aws_iam_role.host.name
  tags        = var.tags
}
