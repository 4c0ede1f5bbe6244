# MO-K8S-004: containers have a read-only root filesystem
#
# An attacker who gets code execution cannot drop tools or modify the application. Services
# write only to mounted volumes (an emptyDir at /tmp).
package k8s.read_only_root_filesystem

import data.lib.k8s
import rego.v1

deny contains msg if {
	some obj in k8s.workloads
	some entry in k8s.containers(k8s.pod_spec(obj))
	object.get(entry.container, ["securityContext", "readOnlyRootFilesystem"], false) != true
	msg := sprintf(
		"MO-K8S-004 %s: container %q has a writable root filesystem; set securityContext.readOnlyRootFilesystem: true and mount an emptyDir where it must write (e.g. /tmp)",
		[k8s.name(obj), entry.container.name],
	)
}
