// Package terraform_test checks the Terraform of deploy/terraform without a
// cloud: every file formatted as `terraform fmt` leaves it, tflint's
// Terraform rules, the invariants a zero-downtime fleet relies on (parsed
// with hashicorp/hcl/v2), and the hosts' user data (bash -n, shellcheck,
// and a run in a Debian container against a fake instance metadata
// service and release server). Nothing here reaches AWS.
package terraform_test
