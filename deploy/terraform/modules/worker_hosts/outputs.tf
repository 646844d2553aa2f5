output "instance_ids" {
  description = "Instance id by host name."
  value       = { for h, i in aws_instance.host : h => i.id }
}

output "private_ips" {
  description = "Private IP by host name."
  value       = { for h, i in aws_instance.host : h => i.private_ip }
}

output "role_arn" {
  description = "The hosts' IAM role."
  value       = aws_iam_role.host.arn
}

output "launch_template_version" {
  description = "The launch template version a host replaced now starts from."
  value       = aws_launch_template.host.latest_version
}
