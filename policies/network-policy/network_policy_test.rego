package k8s.network_policy_test

import data.k8s.network_policy
import rego.v1

deployment := {
	"kind": "Deployment",
	"metadata": {"name": "web", "namespace": "oncall"},
	"spec": {"template": {
		"metadata": {"labels": {"app.kubernetes.io/name": "web", "app.kubernetes.io/component": "server"}},
		"spec": {"containers": [{"name": "app"}]},
	}},
}

policy(namespace, selector, types) := {
	"kind": "NetworkPolicy",
	"metadata": {"name": "web", "namespace": namespace},
	"spec": {"podSelector": selector, "policyTypes": types},
}

combine(objs) := [{"path": "render.yaml", "contents": obj} | some obj in objs]

both := ["Ingress", "Egress"]

test_denies_an_unselected_workload if {
	msgs := network_policy.deny with input as combine([deployment])
	count(msgs) == 1
	some msg in msgs
	startswith(msg, "MO-K8S-009 Deployment/web: no NetworkPolicy with policyTypes [Ingress, Egress] in namespace \"oncall\"")
}

test_denies_a_policy_with_other_labels if {
	p := policy("oncall", {"matchLabels": {"app.kubernetes.io/name": "other"}}, both)
	count(network_policy.deny) == 1 with input as combine([deployment, p])
}

test_denies_a_policy_in_another_namespace if {
	p := policy("default", {"matchLabels": {"app.kubernetes.io/name": "web"}}, both)
	count(network_policy.deny) == 1 with input as combine([deployment, p])
}

test_denies_an_ingress_only_policy if {
	p := policy("oncall", {"matchLabels": {"app.kubernetes.io/name": "web"}}, ["Ingress"])
	count(network_policy.deny) == 1 with input as combine([deployment, p])
}

test_allows_a_matching_policy if {
	p := policy("oncall", {"matchLabels": {"app.kubernetes.io/name": "web"}}, both)
	count(network_policy.deny) == 0 with input as combine([deployment, p])
}

test_allows_match_expressions if {
	selector := {"matchExpressions": [
		{"key": "app.kubernetes.io/component", "operator": "In", "values": ["server", "worker"]},
		{"key": "debug", "operator": "DoesNotExist"},
	]}
	count(network_policy.deny) == 0 with input as combine([deployment, policy("oncall", selector, both)])
}

test_allows_an_empty_selector if {
	count(network_policy.deny) == 0 with input as combine([deployment, policy("oncall", {}, both)])
}

test_is_silent_on_single_documents if {
	count(network_policy.deny) == 0 with input as deployment
}
