# tflint over every module and env (deploy/terraform: make terraform-check,
# and TestTflint in CI): the bundled Terraform ruleset with every rule of
# its "all" preset; no cloud ruleset (it would have to be downloaded).
config {
  call_module_type = "local"
}

plugin "terraform" {
  enabled = true
  preset  = "all"
}
