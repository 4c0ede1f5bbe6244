# MO-K8S-003: containers run as a non-root user
#
# runAsNonRoot must be true for every container (set on the container or inherited from the
# pod), and no container may ask for user id 0. The kubelet then refuses to start an image
# whose user is root.
package k8s.run_as_non_root

import data.lib.k8s
import rego.v1

deny contains msg if {
	some obj in k8s.workloads
	spec := k8s.pod_spec(obj)
	some entry in k8s.containers(spec)
	k8s.security_setting(spec, entry.container, "runAsNonRoot", false) != true
	msg := sprintf(
		"MO-K8S-003 %s: container %q may run as root; set securityContext.runAsNonRoot: true (pod or container) and a non-zero runAsUser",
		[k8s.name(obj), entry.container.name],
	)
}

deny contains msg if {
	some obj in k8s.workloads
	spec := k8s.pod_spec(obj)
	some entry in k8s.containers(spec)
	k8s.security_setting(spec, entry.container, "runAsUser", 1000) == 0
	msg := sprintf(
		"MO-K8S-003 %s: container %q sets runAsUser: 0 (root); use a non-zero user id such as 1000",
		[k8s.name(obj), entry.container.name],
	)
}
