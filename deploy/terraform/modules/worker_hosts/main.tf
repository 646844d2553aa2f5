# Immutable worker hosts: one EC2 instance per host name (for_each), each
# from the launch template, bootstrapped by its user data with no
# configuration server, and gated on readiness: `terraform apply` returns
# only once a new host's supervisor reports every slot ready. Hosts are
# replaced, never changed in place (README.md, "Replacing a host").

locals {
  # Hosts in name order, so each keeps its subnet when others come and go.
  host_list = sort(tolist(var.hosts))
  subnet_of = { for i, h in local.host_list : h => var.subnet_ids[i % length(var.subnet_ids)] }

  # The registry the image comes from (the docker CLI's credential helper
  # is configured for it) and the artifact bucket, if the release is on S3.
  registry       = split("/", var.image_repository)[0]
  release_on_s3  = startswith(var.supervisor_url, "s3://")
  release_object = local.release_on_s3 ? trimprefix(var.supervisor_url, "s3://") : ""

  # The same systemd unit as a host installed by hand (deploy/systemd).
  supervisor_unit = file("${path.module}/../../../systemd/checkfleet-supervisor.service")

  # Each host's configuration, as shell assignments in single quotes (a
  # quote inside a value is closed, escaped and reopened).
  host_config = {
    for h in local.host_list : h => join("\n", [for k, v in {
      CF_HOST              = h
      CF_REGION            = var.region
      CF_RING              = var.ring
      CF_IMAGE             = var.image_repository
      CF_TAG               = var.image_tag
      CF_REGISTRY          = local.registry
      CF_SLOTS             = tostring(var.slots)
      CF_JOBS_QUEUES       = join(",", [for l in sort(keys(var.jobs_queue_urls)) : var.jobs_queue_urls[l]])
      CF_RESULTS_QUEUE     = var.results_queue_url
      CF_SUPERVISOR_URL    = var.supervisor_url
      CF_SUPERVISOR_SHA256 = var.supervisor_sha256
      CF_CONTROL_URL       = var.control_url
      CF_HOST_TOKEN        = random_password.host_token[h].result
      CF_JOIN_TOKEN        = var.join_token
      CF_READY_TIMEOUT     = var.ready_timeout
    } : "${k}='${replace(v, "'", "'\\''")}'"])
  }
}

# A host's own token for the fleet API, kept across replacements of the
# host (its successor registers as the same host with the same token).
resource "random_password" "host_token" {
  for_each = var.hosts

  length  = 40
  special = false
}

resource "aws_launch_template" "host" {
  name_prefix   = "${var.name_prefix}-${var.region}-"
  image_id      = var.ami_id
  instance_type = var.instance_type

  iam_instance_profile {
    arn = aws_iam_instance_profile.host.arn
  }
  vpc_security_group_ids = var.security_group_ids

  # IMDSv2 only, one hop: the instance reaches its metadata (credentials of
  # the role), a container on a bridge network cannot. The workers run on
  # the host's network and reach it (they need the role's credentials);
  # their checks cannot: netguard refuses link-local addresses.
  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 1
    instance_metadata_tags      = "disabled"
  }

  block_device_mappings {
    device_name = "/dev/xvda"
    ebs {
      volume_size           = var.root_volume_gb
      volume_type           = "gp3"
      encrypted             = true
      delete_on_termination = true
    }
  }

  monitoring {
    enabled = true
  }

  tag_specifications {
    resource_type = "instance"
    tags          = merge(var.tags, { "checkfleet:role" = "worker-host", "checkfleet:ring" = var.ring })
  }
  tag_specifications {
    resource_type = "volume"
    tags          = merge(var.tags, { "checkfleet:role" = "worker-host" })
  }
  tags = var.tags

  # A new version is made beside the old; the instances that use it keep
  # theirs until they are replaced.
  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_instance" "host" {
  for_each = var.hosts

  subnet_id = local.subnet_of[each.key]
  launch_template {
    id      = aws_launch_template.host.id
    version = aws_launch_template.host.latest_version
  }
  user_data = templatefile("${path.module}/user_data.sh.tftpl", {
    config          = local.host_config[each.key]
    supervisor_unit = local.supervisor_unit
  })

  # The launch template's settings again, so that a change to them is seen
  # here (and checked: IMDSv2 with one hop).
  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 1
    instance_metadata_tags      = "disabled"
  }

  tags = merge(var.tags, { Name = "checkfleet-${each.key}", "checkfleet:host" = each.key, "checkfleet:ring" = var.ring })

  lifecycle {
    # The successor starts, and passes the readiness gate, before this one
    # is destroyed.
    create_before_destroy = true
    # A host changes only when it is replaced (-replace, one at a time,
    # README.md): a new launch template version, AMI or user data (a new
    # supervisor release, image tag) must not replace every host at once.
    ignore_changes = [launch_template, user_data, ami]
  }
}

# The readiness gate: created after each new instance and before the
# instance it replaces is destroyed (create_before_destroy), it waits until
# the host's user data has seen every slot ready (supervisor status
# --wait-ready) and fails the apply with the host's reason otherwise. It
# reads the verdict from the instance's console output (EC2
# GetConsoleOutput, by the machine running Terraform), so the host needs no
# inbound access, no SSM agent and no permission beyond its work.
resource "terraform_data" "ready" {
  for_each = aws_instance.host

  triggers_replace = each.value.id

  provisioner "local-exec" {
    command = "${path.module}/../../scripts/wait-ready.sh"
    environment = {
      INSTANCE_ID   = each.value.id
      HOST          = each.key
      AWS_REGION    = var.region
      READY_TIMEOUT = var.ready_timeout
    }
  }

  lifecycle {
    create_before_destroy = true
  }
}
