# MO-K8S-006: containers drop all Linux capabilities
#
# A Node.js HTTP service on an unprivileged port needs none of the default capabilities
# (CHOWN, NET_RAW, SETUID, ...); dropping ALL removes them.
package k8s.capabilities

import data.lib.k8s
import rego.v1

deny contains msg if {
	some obj in k8s.workloads
	some entry in k8s.containers(k8s.pod_spec(obj))
	not "ALL" in object.get(entry.container, ["securityContext", "capabilities", "drop"], [])
	msg := sprintf(
		"MO-K8S-006 %s: container %q keeps the default Linux capabilities; set securityContext.capabilities.drop: [ALL]",
		[k8s.name(obj), entry.container.name],
	)
}
