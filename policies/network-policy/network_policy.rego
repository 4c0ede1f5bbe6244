# MO-K8S-009: a NetworkPolicy restricting ingress and egress selects every workload
#
# In a namespace with default-allow networking, a pod that no NetworkPolicy selects can talk to
# anything and be reached by anything. Every workload's pods must be selected by at least one
# NetworkPolicy in the same namespace that restricts both ingress and egress.
#
# A rule that names neither peers nor ports (`ingress: [{}]`, `egress: [{}]`), or whose only
# peer is an ipBlock covering every address (0.0.0.0/0 or ::/0 without `except`) on every port,
# admits all traffic in its direction. Policies add up, so such a rule opens the pods whatever
# other policies say: it is refused on its own, and its policy does not count as restricting.
# (A rule with ports but no peers, like the charts' `to: []` egress entries, is narrower: any
# destination, but only on those ports.)
#
# Whether every workload is selected needs all rendered documents at once: run
# `conftest test --combine`. On single documents only allow-all rules are reported.
package k8s.network_policy

import data.lib.k8s
import rego.v1

policies contains obj if {
	some obj in k8s.objects
	obj.kind == "NetworkPolicy"
}

# The key of a rule's peer list, and what the message calls the other end.
peer_key := {"ingress": "from", "egress": "to"}

peer_noun := {"ingress": "source", "egress": "destination"}

unrestricted_cidrs := {"0.0.0.0/0", "::/0"}

# A peer that is every address.
anywhere(peer) if {
	object.keys(peer) == {"ipBlock"}
	peer.ipBlock.cidr in unrestricted_cidrs
	count(object.get(peer.ipBlock, "except", [])) == 0
}

every_peer(rule, direction) if count(object.get(rule, peer_key[direction], [])) == 0

every_peer(rule, direction) if {
	some peer in rule[peer_key[direction]]
	anywhere(peer)
}

allow_all(rule, direction) if {
	count(object.get(rule, "ports", [])) == 0
	every_peer(rule, direction)
}

# [direction, index] of every allow-all rule of a policy.
allow_all_rules(policy) := {[direction, i] |
	some direction in ["ingress", "egress"]
	some i, rule in object.get(policy, ["spec", direction], [])
	allow_all(rule, direction)
}

restricts_both(policy) if {
	types := {t | some t in object.get(policy, ["spec", "policyTypes"], [])}
	types == {"Ingress", "Egress"}
	count(allow_all_rules(policy)) == 0
}

selected(workload) if {
	some policy in policies
	k8s.namespace(policy) == k8s.namespace(workload)
	restricts_both(policy)
	k8s.selector_matches(object.get(policy, ["spec", "podSelector"], {}), k8s.pod_labels(workload))
}

deny contains msg if {
	some policy in policies
	some [direction, i] in allow_all_rules(policy)
	msg := sprintf(
		"MO-K8S-009 %s: %s rule %d admits every %s on every port; name the peers (%s) or ports it admits, or remove the rule",
		[k8s.name(policy), direction, i, peer_noun[direction], peer_key[direction]],
	)
}

deny contains msg if {
	k8s.combined
	some obj in k8s.workloads
	not selected(obj)
	msg := sprintf(
		"MO-K8S-009 %s: no NetworkPolicy that restricts both ingress and egress (policyTypes [Ingress, Egress], no allow-all rule) in namespace %q selects its pods (labels %v); enable networkPolicy in the chart or add a policy whose podSelector matches them",
		[k8s.name(obj), k8s.namespace(obj), k8s.pod_labels(obj)],
	)
}
