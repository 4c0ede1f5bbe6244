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
	startswith(msg, "MO-K8S-009 Deployment/web: no NetworkPolicy that restricts both ingress and egress (policyTypes [Ingress, Egress], no allow-all rule) in namespace \"oncall\"")
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

web := {"matchLabels": {"app.kubernetes.io/name": "web"}}

with_rules(p, rules) := object.union(p, {"spec": object.union(p.spec, rules)})

test_denies_an_allow_all_ingress_rule if {
	# `ingress: [{}]` admits every source on every port: the policy restricts nothing.
	p := with_rules(policy("oncall", web, both), {"ingress": [{}], "egress": [{"ports": [{"port": 53, "protocol": "UDP"}]}]})
	msgs := network_policy.deny with input as combine([deployment, p])
	msgs == {
		"MO-K8S-009 NetworkPolicy/web: ingress rule 0 admits every source on every port; name the peers (from) or ports it admits, or remove the rule",
		"MO-K8S-009 Deployment/web: no NetworkPolicy that restricts both ingress and egress (policyTypes [Ingress, Egress], no allow-all rule) in namespace \"oncall\" selects its pods (labels {\"app.kubernetes.io/component\": \"server\", \"app.kubernetes.io/name\": \"web\"}); enable networkPolicy in the chart or add a policy whose podSelector matches them",
	}
}

test_denies_an_allow_all_egress_rule if {
	p := with_rules(policy("oncall", web, both), {"egress": [{"ports": [{"port": 53}]}, {}]})
	msgs := network_policy.deny with input as combine([deployment, p])
	"MO-K8S-009 NetworkPolicy/web: egress rule 1 admits every destination on every port; name the peers (to) or ports it admits, or remove the rule" in msgs
	count(msgs) == 2
}

test_denies_empty_peer_and_port_lists if {
	p := with_rules(policy("oncall", web, both), {"egress": [{"to": [], "ports": []}]})
	count(network_policy.deny) == 2 with input as combine([deployment, p])
}

test_denies_an_unrestricted_ip_block_on_every_port if {
	anywhere := {"ipBlock": {"cidr": "0.0.0.0/0"}}
	p := with_rules(policy("oncall", web, both), {"ingress": [{"from": [anywhere]}], "egress": [{"to": [{"ipBlock": {"cidr": "::/0"}}]}]})
	count(network_policy.deny) == 3 with input as combine([deployment, p])
}

test_denies_an_allow_all_policy_even_beside_a_strict_one if {
	# Policies add up: one that admits everything opens the pods whatever the others say.
	strict := policy("oncall", web, both)
	open := with_rules(object.union(policy("oncall", web, ["Ingress"]), {"metadata": {"name": "open"}}), {"ingress": [{}]})
	msgs := network_policy.deny with input as combine([deployment, strict, open])
	msgs == {"MO-K8S-009 NetworkPolicy/open: ingress rule 0 admits every source on every port; name the peers (from) or ports it admits, or remove the rule"}
}

test_denies_an_allow_all_rule_in_a_single_document if {
	p := with_rules(policy("oncall", web, both), {"ingress": [{}]})
	count(network_policy.deny) == 1 with input as p
}

test_allows_rules_with_ports_or_peers if {
	# The charts' egress entries with `to: []` admit any destination, but only on their ports.
	p := with_rules(policy("oncall", web, both), {
		"ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}}], "ports": [{"port": 8080}]}],
		"egress": [
			{"ports": [{"port": 9092, "protocol": "TCP"}]},
			{"to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["10.0.0.0/8"]}}]},
			{"to": [{"ipBlock": {"cidr": "10.20.0.0/24"}}]},
		],
	})
	count(network_policy.deny) == 0 with input as combine([deployment, p])
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
