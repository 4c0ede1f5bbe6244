# MO-K8S-007: images are pinned by tag or digest, never latest
#
# `latest` and untagged images (which mean latest) change under a running Deployment, cannot
# be rolled back and do not say what is running. Use a release tag or commit SHA, or a digest
# (repo@sha256:...; repo:tag@sha256:... is fine too).
package k8s.image_tags

import data.lib.k8s
import rego.v1

deny contains msg if {
	some obj in k8s.workloads
	some entry in k8s.containers(k8s.pod_spec(obj))
	problem := image_problem(entry.container.image)
	msg := sprintf(
		"MO-K8S-007 %s: container %q image %q %s; pin a release tag or commit SHA (image.tag) or a digest (image.digest)",
		[k8s.name(obj), entry.container.name, entry.container.image, problem],
	)
}

deny contains msg if {
	some obj in k8s.workloads
	some entry in k8s.containers(k8s.pod_spec(obj))
	not entry.container.image
	msg := sprintf("MO-K8S-007 %s: container %q has no image; set image.repository and image.tag", [k8s.name(obj), entry.container.name])
}

digest_pinned(image) if regex.match(`@sha256:[a-f0-9]{64}$`, image)

# The tag is what follows the last ":" of the last path segment (a registry port is not a tag).
tag(image) := t if {
	segments := split(image, "/")
	last := segments[count(segments) - 1]
	parts := split(last, ":")
	count(parts) == 2
	t := parts[1]
}

image_problem(image) := "uses the latest tag" if {
	not digest_pinned(image)
	tag(image) == "latest"
}

image_problem(image) := "has no tag" if {
	not digest_pinned(image)
	not tag(image)
}
