# MO-K8S-008: pods do not share the node's namespaces, ports or filesystem
#
# hostNetwork, hostPID, hostIPC, hostPort and hostPath volumes each give a pod a way out of its
# sandbox onto the node. None of the micro-oncall services needs them.
package k8s.host_access

import data.lib.k8s
import rego.v1

deny contains msg if {
	some obj in k8s.workloads
	some field in ["hostNetwork", "hostPID", "hostIPC"]
	k8s.pod_spec(obj)[field] == true
	msg := sprintf("MO-K8S-008 %s: pod sets %s: true; remove it (pods must not share the node's namespaces)", [k8s.name(obj), field])
}

deny contains msg if {
	some obj in k8s.workloads
	some entry in k8s.containers(k8s.pod_spec(obj))
	some port in object.get(entry.container, "ports", [])
	object.get(port, "hostPort", 0) != 0
	msg := sprintf(
		"MO-K8S-008 %s: container %q binds hostPort %v; remove hostPort and expose the port through a Service",
		[k8s.name(obj), entry.container.name, port.hostPort],
	)
}

deny contains msg if {
	some obj in k8s.workloads
	some volume in object.get(k8s.pod_spec(obj), "volumes", [])
	volume.hostPath
	msg := sprintf(
		"MO-K8S-008 %s: volume %q mounts hostPath %q from the node; use an emptyDir, ConfigMap, Secret or PersistentVolumeClaim",
		[k8s.name(obj), volume.name, volume.hostPath.path],
	)
}
