package k8s.probes_test

import data.k8s.probes
import rego.v1

deployment(container) := {
	"apiVersion": "apps/v1",
	"kind": "Deployment",
	"metadata": {"name": "web"},
	"spec": {"template": {"spec": {"containers": [container]}}},
}

probe(path) := {"httpGet": {"path": path, "port": "http"}}

test_denies_a_deployment_without_probes if {
	msgs := probes.deny with input as deployment({"name": "app", "image": "app:1"})
	count(msgs) == 2
	some msg in msgs
	startswith(msg, "MO-K8S-001 Deployment/web: container \"app\" has no livenessProbe")
}

test_denies_a_missing_readiness_probe if {
	msgs := probes.deny with input as deployment({"name": "app", "livenessProbe": probe("/health/live")})
	msgs == {"MO-K8S-001 Deployment/web: container \"app\" has no readinessProbe; add livenessProbe (GET /health/live) and readinessProbe (GET /health/ready)"}
}

test_allows_a_deployment_with_both_probes if {
	count(probes.deny) == 0 with input as deployment({
		"name": "app",
		"livenessProbe": probe("/health/live"),
		"readinessProbe": probe("/health/ready"),
	})
}

test_does_not_require_probes_on_jobs if {
	job := {
		"apiVersion": "batch/v1",
		"kind": "Job",
		"metadata": {"name": "migrate"},
		"spec": {"template": {"spec": {"containers": [{"name": "m"}]}}},
	}
	count(probes.deny) == 0 with input as job
}

test_checks_combined_input if {
	combined := [{"path": "a.yaml", "contents": deployment({"name": "app"})}]
	count(probes.deny) == 2 with input as combined
}
