package k8s.host_access_test

import data.k8s.host_access
import rego.v1

pod(spec) := {"kind": "Pod", "metadata": {"name": "p"}, "spec": spec}

test_denies_host_namespaces if {
	msgs := host_access.deny with input as pod({"hostNetwork": true, "hostPID": true, "hostIPC": true, "containers": []})
	msgs == {
		"MO-K8S-008 Pod/p: pod sets hostNetwork: true; remove it (pods must not share the node's namespaces)",
		"MO-K8S-008 Pod/p: pod sets hostPID: true; remove it (pods must not share the node's namespaces)",
		"MO-K8S-008 Pod/p: pod sets hostIPC: true; remove it (pods must not share the node's namespaces)",
	}
}

test_denies_host_ports if {
	msgs := host_access.deny with input as pod({"containers": [{"name": "app", "ports": [{"containerPort": 8080, "hostPort": 80}]}]})
	msgs == {"MO-K8S-008 Pod/p: container \"app\" binds hostPort 80; remove hostPort and expose the port through a Service"}
}

test_denies_host_path_volumes if {
	msgs := host_access.deny with input as pod({"containers": [], "volumes": [{"name": "docker", "hostPath": {"path": "/var/run/docker.sock"}}]})
	msgs == {"MO-K8S-008 Pod/p: volume \"docker\" mounts hostPath \"/var/run/docker.sock\" from the node; use an emptyDir, ConfigMap, Secret or PersistentVolumeClaim"}
}

test_allows_an_isolated_pod if {
	count(host_access.deny) == 0 with input as pod({
		"hostNetwork": false,
		"containers": [{"name": "app", "ports": [{"containerPort": 8080}]}],
		"volumes": [{"name": "tmp", "emptyDir": {}}],
	})
}
