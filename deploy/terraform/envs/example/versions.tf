terraform {
  required_version = ">= 1.6"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.40, < 7.0"
    }
  }
  # Keep the state remote and locked, e.g.:
  # backend "s3" { bucket = "...", key = "checkfleet/example.tfstate", region = "eu-west-1", use_lockfile = true }
}

provider "aws" {
  region = var.region
  default_tags {
    tags = { "checkfleet:env" = var.env }
  }
}
