# MO-K8S-006: containers drop all Linux capabilities and add none back
#
# A Node.js HTTP service on an unprivileged port needs none of the default capabilities
# (CHOWN, NET_RAW, SETUID, ...); dropping ALL removes them. `capabilities.add` hands them back
# after the drop (NET_ADMIN, SYS_ADMIN, ... included), so it must stay empty.
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

deny contains msg if {
	some obj in k8s.workloads
	some entry in k8s.containers(k8s.pod_spec(obj))
	added := object.get(entry.container, ["securityContext", "capabilities", "add"], [])
	count(added) > 0
	msg := sprintf(
		"MO-K8S-006 %s: container %q adds Linux capabilities %v; remove securityContext.capabilities.add (the services need none)",
		[k8s.name(obj), entry.container.name, added],
	)
}
