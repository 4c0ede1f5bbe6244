package k8s.resources_test

import data.k8s.resources
import rego.v1

job(container) := {
	"apiVersion": "batch/v1",
	"kind": "Job",
	"metadata": {"name": "migrate"},
	"spec": {"template": {"spec": {"containers": [container]}}},
}

full := {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "1", "memory": "256Mi"}}

test_denies_missing_limits if {
	msgs := resources.deny with input as job({"name": "m", "resources": {"requests": full.requests}})
	msgs == {
		"MO-K8S-002 Job/migrate: container \"m\" has no limits.cpu; set resources.requests and resources.limits for cpu and memory",
		"MO-K8S-002 Job/migrate: container \"m\" has no limits.memory; set resources.requests and resources.limits for cpu and memory",
	}
}

test_denies_a_container_without_resources if {
	count(resources.deny) == 4 with input as job({"name": "m"})
}

test_checks_init_containers if {
	obj := {
		"kind": "Deployment",
		"metadata": {"name": "web"},
		"spec": {"template": {"spec": {
			"containers": [{"name": "app", "resources": full}],
			"initContainers": [{"name": "wait"}],
		}}},
	}
	count(resources.deny) == 4 with input as obj
}

test_allows_requests_and_limits if {
	count(resources.deny) == 0 with input as job({"name": "m", "resources": full})
}
