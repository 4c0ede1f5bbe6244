package k8s.capabilities_test

import data.k8s.capabilities
import rego.v1

pod(sc) := {"kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": [{"name": "app", "securityContext": sc}]}}

test_denies_keeping_capabilities if {
	msgs := capabilities.deny with input as pod({"capabilities": {"drop": ["NET_RAW"]}})
	msgs == {"MO-K8S-006 Pod/p: container \"app\" keeps the default Linux capabilities; set securityContext.capabilities.drop: [ALL]"}
}

test_denies_when_unset if {
	count(capabilities.deny) == 1 with input as pod({})
}

test_denies_adding_capabilities_back if {
	# drop: [ALL] then add: [...] hands the added capabilities back.
	msgs := capabilities.deny with input as pod({"capabilities": {"drop": ["ALL"], "add": ["NET_ADMIN", "SYS_PTRACE"]}})
	msgs == {"MO-K8S-006 Pod/p: container \"app\" adds Linux capabilities [\"NET_ADMIN\", \"SYS_PTRACE\"]; remove securityContext.capabilities.add (the services need none)"}
}

test_denies_adding_and_keeping_separately if {
	msgs := capabilities.deny with input as pod({"capabilities": {"add": ["NET_BIND_SERVICE"]}})
	count(msgs) == 2
}

test_checks_init_containers if {
	obj := {"kind": "Pod", "metadata": {"name": "p"}, "spec": {
		"containers": [{"name": "app", "securityContext": {"capabilities": {"drop": ["ALL"]}}}],
		"initContainers": [{"name": "init", "securityContext": {"capabilities": {"drop": ["ALL"], "add": ["CHOWN"]}}}],
	}}
	msgs := capabilities.deny with input as obj
	msgs == {"MO-K8S-006 Pod/p: container \"init\" adds Linux capabilities [\"CHOWN\"]; remove securityContext.capabilities.add (the services need none)"}
}

test_allows_an_empty_add_list if {
	count(capabilities.deny) == 0 with input as pod({"capabilities": {"drop": ["ALL"], "add": []}})
}

test_allows_dropping_all if {
	count(capabilities.deny) == 0 with input as pod({"capabilities": {"drop": ["ALL"]}})
}
