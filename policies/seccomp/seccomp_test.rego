package k8s.seccomp_test

import data.k8s.seccomp
import rego.v1

pod(pod_sc, container_sc) := {
	"kind": "Pod",
	"metadata": {"name": "p"},
	"spec": {"securityContext": pod_sc, "containers": [{"name": "app", "securityContext": container_sc}]},
}

runtime_default := {"seccompProfile": {"type": "RuntimeDefault"}}

test_denies_no_profile if {
	msgs := seccomp.deny with input as pod({}, {})
	msgs == {"MO-K8S-012 Pod/p: container \"app\" runs without a seccomp profile; set securityContext.seccompProfile.type: RuntimeDefault (pod or container)"}
}

test_denies_unconfined_containers if {
	count(seccomp.deny) == 1 with input as pod(runtime_default, {"seccompProfile": {"type": "Unconfined"}})
}

test_allows_a_pod_level_profile if {
	count(seccomp.deny) == 0 with input as pod(runtime_default, {})
}

test_allows_a_container_level_profile if {
	count(seccomp.deny) == 0 with input as pod({}, runtime_default)
}
