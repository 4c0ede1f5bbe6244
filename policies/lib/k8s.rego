# MO-LIB: Kubernetes helpers shared by the micro-oncall policies.
#
# Every rule reads the objects through `objects`, so that the same rule works whether conftest
# evaluates one document at a time (the default) or all rendered documents at once
# (`conftest test --combine`, where input is [{path, contents}]). Rules that compare objects
# with each other (MO-K8S-009) only fire on combined input.
package lib.k8s

import rego.v1

# Whether conftest was run with --combine.
combined if is_array(input)

# Every Kubernetes object in the input.
objects contains doc.contents if {
	combined
	some doc in input
	is_object(doc.contents)
	doc.contents.kind
}

objects contains input if {
	is_object(input)
	input.kind
}

# "Kind/name" for messages.
name(obj) := sprintf("%s/%s", [obj.kind, object.get(obj, ["metadata", "name"], "<unnamed>")])

namespace(obj) := object.get(obj, ["metadata", "namespace"], "default")

# Kinds whose pods run long and serve traffic (probes apply), and all kinds that carry a pod.
long_running_kinds := {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController"}

pod_template_kinds := long_running_kinds | {"Job"}

# The pod spec and pod labels of a workload (Pod, pod-template kinds, CronJob).
pod_spec(obj) := obj.spec if obj.kind == "Pod"

pod_spec(obj) := obj.spec.template.spec if obj.kind in pod_template_kinds

pod_spec(obj) := obj.spec.jobTemplate.spec.template.spec if obj.kind == "CronJob"

pod_labels(obj) := object.get(obj, ["metadata", "labels"], {}) if obj.kind == "Pod"

pod_labels(obj) := object.get(obj, ["spec", "template", "metadata", "labels"], {}) if obj.kind in pod_template_kinds

pod_labels(obj) := object.get(obj, ["spec", "jobTemplate", "spec", "template", "metadata", "labels"], {}) if {
	obj.kind == "CronJob"
}

workloads contains obj if {
	some obj in objects
	pod_spec(obj)
}

# Every container of a pod spec (regular, init and ephemeral), as {"kind": ..., "container": ...}.
containers(spec) := [{"kind": kind, "container": c} |
	some kind in ["containers", "initContainers", "ephemeralContainers"]
	some c in object.get(spec, kind, [])
]

# The effective value of a security setting: the container's, else the pod's, else `default`.
security_setting(_, container, key, _) := container.securityContext[key]

security_setting(spec, container, key, _) := spec.securityContext[key] if {
	not has_key(object.get(container, "securityContext", {}), key)
}

security_setting(spec, container, key, default_value) := default_value if {
	not has_key(object.get(container, "securityContext", {}), key)
	not has_key(object.get(spec, "securityContext", {}), key)
}

has_key(obj, key) if _ = obj[key]

# Does a label selector (matchLabels and matchExpressions) select these labels? An empty
# selector selects everything.
selector_matches(selector, labels) if {
	every key, value in object.get(selector, "matchLabels", {}) {
		labels[key] == value
	}
	every expr in object.get(selector, "matchExpressions", []) {
		expression_matches(expr, labels)
	}
}

expression_matches(expr, labels) if {
	expr.operator == "In"
	labels[expr.key] in expr.values
}

expression_matches(expr, labels) if {
	expr.operator == "NotIn"
	not labels[expr.key] in expr.values
}

expression_matches(expr, labels) if {
	expr.operator == "Exists"
	has_key(labels, expr.key)
}

expression_matches(expr, labels) if {
	expr.operator == "DoesNotExist"
	not has_key(labels, expr.key)
}
