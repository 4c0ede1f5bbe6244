package k8s.read_only_root_filesystem_test

import data.k8s.read_only_root_filesystem as rorf
import rego.v1

pod(sc) := {"kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": [{"name": "app", "securityContext": sc}]}}

test_denies_a_writable_root_filesystem if {
	msgs := rorf.deny with input as pod({"readOnlyRootFilesystem": false})
	msgs == {"MO-K8S-004 Pod/p: container \"app\" has a writable root filesystem; set securityContext.readOnlyRootFilesystem: true and mount an emptyDir where it must write (e.g. /tmp)"}
}

test_denies_when_unset if {
	count(rorf.deny) == 1 with input as pod({})
}

test_allows_a_read_only_root_filesystem if {
	count(rorf.deny) == 0 with input as pod({"readOnlyRootFilesystem": true})
}
