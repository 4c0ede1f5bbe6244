package k8s.run_as_non_root_test

import data.k8s.run_as_non_root
import rego.v1

deployment(pod_sc, container_sc) := {
	"kind": "Deployment",
	"metadata": {"name": "web"},
	"spec": {"template": {"spec": {
		"securityContext": pod_sc,
		"containers": [{"name": "app", "securityContext": container_sc}],
	}}},
}

test_denies_when_nothing_is_set if {
	msgs := run_as_non_root.deny with input as deployment({}, {})
	msgs == {"MO-K8S-003 Deployment/web: container \"app\" may run as root; set securityContext.runAsNonRoot: true (pod or container) and a non-zero runAsUser"}
}

test_denies_a_container_overriding_the_pod if {
	count(run_as_non_root.deny) == 1 with input as deployment({"runAsNonRoot": true}, {"runAsNonRoot": false})
}

test_denies_user_zero if {
	count(run_as_non_root.deny) == 1 with input as deployment({"runAsNonRoot": true, "runAsUser": 0}, {})
}

test_allows_pod_level_non_root if {
	count(run_as_non_root.deny) == 0 with input as deployment({"runAsNonRoot": true, "runAsUser": 1000}, {})
}

test_allows_container_level_non_root if {
	count(run_as_non_root.deny) == 0 with input as deployment({}, {"runAsNonRoot": true})
}
