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

test_allows_dropping_all if {
	count(capabilities.deny) == 0 with input as pod({"capabilities": {"drop": ["ALL"]}})
}
