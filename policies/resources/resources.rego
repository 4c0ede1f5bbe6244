# MO-K8S-002: every container sets CPU and memory requests and limits
#
# Requests let the scheduler place pods honestly; limits stop one service from starving its
# neighbours (and make a memory leak restart one pod instead of degrading a node).
package k8s.resources

import data.lib.k8s
import rego.v1

deny contains msg if {
	some obj in k8s.workloads
	some entry in k8s.containers(k8s.pod_spec(obj))
	some kind in ["requests", "limits"]
	some resource in ["cpu", "memory"]
	not entry.container.resources[kind][resource]
	msg := sprintf(
		"MO-K8S-002 %s: container %q has no %s.%s; set resources.requests and resources.limits for cpu and memory",
		[k8s.name(obj), entry.container.name, kind, resource],
	)
}
