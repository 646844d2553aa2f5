output "public_ip" {
  description = "The control plane's Elastic IP."
  value       = aws_eip.this.public_ip
}

output "url" {
  description = "The control plane's URL (supervisor run --control-url, supervisor fleet ... --control-url)."
  value       = "http://${aws_eip.this.public_ip}:8080"
}

output "instance_ids" {
  description = "Scheduler instance id by key (current, and next during a swap)."
  value       = { for k, i in aws_instance.scheduler : k => i.id }
}

output "eip_instance" {
  description = "Which instance holds the Elastic IP."
  value       = var.eip_on
}

output "db_address" {
  description = "The database's host name."
  value       = aws_db_instance.this.address
}
