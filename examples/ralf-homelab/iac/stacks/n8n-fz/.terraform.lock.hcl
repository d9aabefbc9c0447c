# This file is maintained automatically by "terraform init".
# Manual edits may be lost in future updates.

provider "registry.terraform.io/ralf-homelab/ralf" {
  version = "0.1.0"
  hashes = [
    "h1:nE6dpP+TP+qjb6yr5OuzGmE1M3JxuWbl0lTvc0kOZIY=",
    "zh:9528e2fb12ac4eb64c885ef2c5960ef1896046d2947f0efb7f9c67c8ba6b85d0",
  ]
}
