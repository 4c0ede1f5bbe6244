package k8s.ingress_internal_paths_test

import data.k8s.ingress_internal_paths
import rego.v1

ingress(paths) := {
	"kind": "Ingress",
	"metadata": {"name": "web", "namespace": "oncall"},
	"spec": {"rules": [{"host": "oncall.example.com", "http": {"paths": [
	{"path": p.path, "pathType": p.type, "backend": {"service": {"name": "web", "port": {"name": "http"}}}} |
		some p in paths
	]}}]},
}

route(path, type) := {"path": path, "type": type}

denied(paths) := msgs if {
	msgs := ingress_internal_paths.deny with input as ingress(paths)
}

test_denies_the_root_prefix if {
	denied([route("/", "Prefix")]) == {"MO-K8S-013 Ingress/web: host \"oncall.example.com\" path \"/\" (Prefix) routes /metrics, /health/live, /health/ready, /openapi.json to service \"web\"; route only the service's public prefixes (the charts take them from the workload's ingressPaths)"}
}

test_denies_each_internal_endpoint if {
	count(denied([route("/metrics", "Exact")])) == 1
	count(denied([route("/health", "Prefix")])) == 1
	count(denied([route("/health/ready", "Exact")])) == 1
	count(denied([route("/openapi.json", "Prefix")])) == 1
}

test_names_only_the_endpoints_a_path_reaches if {
	denied([route("/health/", "Prefix")]) == {"MO-K8S-013 Ingress/web: host \"oncall.example.com\" path \"/health/\" (Prefix) routes /health/live, /health/ready to service \"web\"; route only the service's public prefixes (the charts take them from the workload's ingressPaths)"}
}

test_denies_spellings_the_service_also_answers if {
	# Express matches paths case-insensitively and ignores a trailing slash.
	count(denied([route("/Metrics", "Exact")])) == 1
	count(denied([route("/metrics/", "Exact")])) == 1
}

test_denies_implementation_specific_string_prefixes if {
	# ingress-nginx treats ImplementationSpecific paths as plain string prefixes: /me reaches /metrics.
	count(denied([route("/me", "ImplementationSpecific")])) == 1
	count(denied([route("/", "ImplementationSpecific")])) == 1
}

test_denies_a_default_backend if {
	obj := {"kind": "Ingress", "metadata": {"name": "web"}, "spec": {"defaultBackend": {"service": {"name": "web", "port": {"number": 80}}}}}
	msgs := ingress_internal_paths.deny with input as obj
	msgs == {"MO-K8S-013 Ingress/web: spec.defaultBackend sends every path no rule matches, /metrics, /health/* and /openapi.json included, to service \"web\"; remove it and list the service's public prefixes as rules"}
}

test_denies_in_combined_input if {
	msgs := ingress_internal_paths.deny with input as [{"path": "render.yaml", "contents": ingress([route("/", "Prefix")])}]
	count(msgs) == 1
}

test_allows_public_prefixes if {
	paths := [
		route("/", "Exact"),
		route("/v1", "Prefix"),
		route("/v1/webhooks", "Prefix"),
		route("/ui", "Prefix"),
		route("/auth", "Prefix"),
		route("/incidents", "Prefix"),
		route("/healthz-dashboard", "Prefix"),
		route("/metricsboard", "Exact"),
		route("/v1/health", "Prefix"),
	]
	count(denied(paths)) == 0
}

test_allows_resource_backends if {
	obj := {"kind": "Ingress", "metadata": {"name": "static"}, "spec": {"rules": [{"http": {"paths": [{
		"path": "/",
		"pathType": "Prefix",
		"backend": {"resource": {"apiGroup": "storage.example.com", "kind": "Bucket", "name": "assets"}},
	}]}}]}}
	count(ingress_internal_paths.deny) == 0 with input as obj
}
