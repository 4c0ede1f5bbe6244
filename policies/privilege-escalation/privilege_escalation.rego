# MO-K8S-005: containers cannot gain privileges
#
# allowPrivilegeEscalation must be explicitly false (the Kubernetes default is true, so setuid
# binaries could raise privileges), and no container may be privileged.
package k8s.privilege_escalation

import data.lib.k8s
import rego.v1

deny contains msg if {
	some obj in k8s.workloads
	some entry in k8s.containers(k8s.pod_spec(obj))
	object.get(entry.container, ["securityContext", "allowPrivilegeEscalation"], true) != false
	msg := sprintf(
		"MO-K8S-005 %s: container %q allows privilege escalation; set securityContext.allowPrivilegeEscalation: false",
		[k8s.name(obj), entry.container.name],
	)
}

deny contains msg if {
	some obj in k8s.workloads
	some entry in k8s.containers(k8s.pod_spec(obj))
	object.get(entry.container, ["securityContext", "privileged"], false) == true
	msg := sprintf(
		"MO-K8S-005 %s: container %q is privileged; remove securityContext.privileged",
		[k8s.name(obj), entry.container.name],
	)
}
