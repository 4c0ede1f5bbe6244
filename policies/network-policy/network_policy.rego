# MO-K8S-009: a NetworkPolicy selects every workload
#
# In a namespace with default-allow networking, a pod that no NetworkPolicy selects can talk to
# anything and be reached by anything. Every workload's pods must be selected by at least one
# NetworkPolicy in the same namespace that restricts both ingress and egress.
#
# This rule compares objects with each other, so it needs all rendered documents at once:
# run `conftest test --combine`. On single documents it stays silent.
package k8s.network_policy

import data.lib.k8s
import rego.v1

policies contains obj if {
	some obj in k8s.objects
	obj.kind == "NetworkPolicy"
}

restricts_both(policy) if {
	types := {t | some t in object.get(policy, ["spec", "policyTypes"], [])}
	types == {"Ingress", "Egress"}
}

selected(workload) if {
	some policy in policies
	k8s.namespace(policy) == k8s.namespace(workload)
	restricts_both(policy)
	k8s.selector_matches(object.get(policy, ["spec", "podSelector"], {}), k8s.pod_labels(workload))
}

deny contains msg if {
	k8s.combined
	some obj in k8s.workloads
	not selected(obj)
	msg := sprintf(
		"MO-K8S-009 %s: no NetworkPolicy with policyTypes [Ingress, Egress] in namespace %q selects its pods (labels %v); enable networkPolicy in the chart or add a policy whose podSelector matches them",
		[k8s.name(obj), k8s.namespace(obj), k8s.pod_labels(obj)],
	)
}
