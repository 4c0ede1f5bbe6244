package k8s.image_tags_test

import data.k8s.image_tags
import rego.v1

pod(image) := {"kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": [{"name": "app", "image": image}]}}

digest := "sha256:4c1e6b0f2a9d8e7c6b5a49382716f5e4d3c2b1a09f8e7d6c5b4a392817f6e5d4"

test_denies_latest if {
	msgs := image_tags.deny with input as pod("ghcr.io/acme/app:latest")
	msgs == {"MO-K8S-007 Pod/p: container \"app\" image \"ghcr.io/acme/app:latest\" uses the latest tag; pin a release tag or commit SHA (image.tag) or a digest (image.digest)"}
}

test_denies_untagged_images if {
	count(image_tags.deny) == 1 with input as pod("ghcr.io/acme/app")
}

test_a_registry_port_is_not_a_tag if {
	count(image_tags.deny) == 1 with input as pod("registry.local:5000/acme/app")
}

test_allows_a_tag if {
	count(image_tags.deny) == 0 with input as pod("registry.local:5000/acme/app:3f9c2e1")
}

test_allows_a_digest if {
	count(image_tags.deny) == 0 with input as pod(concat("@", ["ghcr.io/acme/app", digest]))
}

test_allows_tag_and_digest if {
	count(image_tags.deny) == 0 with input as pod(concat("@", ["ghcr.io/acme/app:latest", digest]))
}
