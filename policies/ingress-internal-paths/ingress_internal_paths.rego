# MO-K8S-013: no Ingress routes the internal endpoints (/metrics, /health, /openapi.json)
#
# Every micro-oncall service answers /metrics (Prometheus), /health/live and /health/ready
# (kubelet probes; readiness carries dependency error text) and /openapi.json on the one port
# its Service exposes (service-kit's createHttpApp). They are for the cluster, not the internet:
# an Ingress path that reaches them publishes them, and so does a path of `/` (Prefix) or a
# defaultBackend, which reach everything. Route only the service's public prefixes; the charts
# take them from the workload's ingressPaths.
#
# How a path matches follows the Ingress API: Exact compares the whole path, Prefix compares
# whole path elements (`/health` reaches `/health/ready`, `/he` does not), and
# ImplementationSpecific is taken as a plain string prefix, as ingress-nginx matches it
# (`/me` reaches `/metrics`). Comparisons ignore case and a trailing slash, as the services'
# router does. Resource backends (not Services) are not checked.
package k8s.ingress_internal_paths

import data.lib.k8s
import rego.v1

internal_endpoints := ["/metrics", "/health/live", "/health/ready", "/openapi.json"]

normalized(path) := trim_suffix(lower(path), "/")

reaches(path, "Exact", endpoint) if normalized(path) == endpoint

reaches(path, "Prefix", _) if normalized(path) == ""

reaches(path, "Prefix", endpoint) if normalized(path) == endpoint

reaches(path, "Prefix", endpoint) if startswith(endpoint, concat("", [normalized(path), "/"]))

reaches(path, "ImplementationSpecific", endpoint) if startswith(endpoint, lower(path))

ingresses contains obj if {
	some obj in k8s.objects
	obj.kind == "Ingress"
}

deny contains msg if {
	some obj in ingresses
	some rule in object.get(obj, ["spec", "rules"], [])
	some route in object.get(rule, ["http", "paths"], [])
	service := route.backend.service.name
	path := object.get(route, "path", "")
	type := object.get(route, "pathType", "ImplementationSpecific")
	reached := [e | some e in internal_endpoints; reaches(path, type, e)]
	count(reached) > 0
	msg := sprintf(
		"MO-K8S-013 %s: host %q path %q (%s) routes %s to service %q; route only the service's public prefixes (the charts take them from the workload's ingressPaths)",
		[k8s.name(obj), object.get(rule, "host", "*"), path, type, concat(", ", reached), service],
	)
}

deny contains msg if {
	some obj in ingresses
	service := obj.spec.defaultBackend.service.name
	msg := sprintf(
		"MO-K8S-013 %s: spec.defaultBackend sends every path no rule matches, /metrics, /health/* and /openapi.json included, to service %q; remove it and list the service's public prefixes as rules",
		[k8s.name(obj), service],
	)
}
