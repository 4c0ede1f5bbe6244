# MO-K8S-011: objects carry the name, owner and cost-centre labels
#
# Thousands of small apps stay governable only if every object says what it is, which team
# answers for it and who pays for it. Required on every object and on workloads' pod
# templates (cost tools aggregate pods):
#   app.kubernetes.io/name   what it is
#   owner                    the owning team (a team slug; chosen over part-of + team label
#                            because one label answers "who do I page" directly)
#   cost-centre              where its cost is booked
package k8s.required_labels

import data.lib.k8s
import rego.v1

required := ["app.kubernetes.io/name", "owner", "cost-centre"]

missing(labels) := [label | some label in required; object.get(labels, label, "") == ""]

deny contains msg if {
	some obj in k8s.objects
	gaps := missing(object.get(obj, ["metadata", "labels"], {}))
	count(gaps) > 0
	msg := sprintf(
		"MO-K8S-011 %s: missing labels %v; set them (the charts take owner and costCentre values, or global.owner / global.costCentre)",
		[k8s.name(obj), gaps],
	)
}

deny contains msg if {
	some obj in k8s.workloads
	obj.kind != "Pod"
	gaps := missing(k8s.pod_labels(obj))
	count(gaps) > 0
	msg := sprintf(
		"MO-K8S-011 %s: pod template is missing labels %v; add them to the pod template's metadata.labels",
		[k8s.name(obj), gaps],
	)
}
