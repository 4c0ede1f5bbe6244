# MO-K8S-012: containers run under a seccomp profile
#
# Without a profile (Unconfined, the default outside restricted namespaces) a container may
# use every system call of the node's kernel. RuntimeDefault blocks the rarely needed,
# often exploited ones; Localhost profiles are accepted too.
package k8s.seccomp

import data.lib.k8s
import rego.v1

deny contains msg if {
	some obj in k8s.workloads
	spec := k8s.pod_spec(obj)
	some entry in k8s.containers(spec)
	profile := k8s.security_setting(spec, entry.container, "seccompProfile", {})
	not object.get(profile, "type", "Unconfined") in {"RuntimeDefault", "Localhost"}
	msg := sprintf(
		"MO-K8S-012 %s: container %q runs without a seccomp profile; set securityContext.seccompProfile.type: RuntimeDefault (pod or container)",
		[k8s.name(obj), entry.container.name],
	)
}
