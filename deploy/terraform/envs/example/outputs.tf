output "control_plane_url" {
  description = "The control plane (status page, API, fleet API)."
  value       = module.control_plane.url
}

output "jobs_queue_urls" {
  description = "Jobs queue URL by location."
  value       = module.queues.jobs_queue_urls
}

output "results_queue_url" {
  description = "The results queue."
  value       = module.queues.results_queue_url
}

output "worker_instance_ids" {
  description = "Instance id by worker host."
  value       = module.workers.instance_ids
}
