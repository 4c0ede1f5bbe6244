package k8s.privilege_escalation_test

import data.k8s.privilege_escalation as pe
import rego.v1

pod(sc) := {"kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": [{"name": "app", "securityContext": sc}]}}

test_denies_when_unset if {
	msgs := pe.deny with input as pod({})
	msgs == {"MO-K8S-005 Pod/p: container \"app\" allows privilege escalation; set securityContext.allowPrivilegeEscalation: false"}
}

test_denies_privileged_containers if {
	msgs := pe.deny with input as pod({"allowPrivilegeEscalation": false, "privileged": true})
	msgs == {"MO-K8S-005 Pod/p: container \"app\" is privileged; remove securityContext.privileged"}
}

test_allows_no_escalation if {
	count(pe.deny) == 0 with input as pod({"allowPrivilegeEscalation": false, "privileged": false})
}
