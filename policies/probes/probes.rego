# MO-K8S-001: long-running containers have liveness and readiness probes
#
# Without a liveness probe a hung process keeps its pod; without a readiness probe traffic
# reaches pods that cannot serve it (e.g. while PostgreSQL or Kafka is unreachable). Jobs and
# init containers are exempt: they run to completion.
package k8s.probes

import data.lib.k8s
import rego.v1

deny contains msg if {
	some obj in k8s.workloads
	obj.kind in k8s.long_running_kinds
	some c in k8s.pod_spec(obj).containers
	some probe in ["livenessProbe", "readinessProbe"]
	not c[probe]
	msg := sprintf(
		"MO-K8S-001 %s: container %q has no %s; add livenessProbe (GET /health/live) and readinessProbe (GET /health/ready)",
		[k8s.name(obj), c.name, probe],
	)
}
