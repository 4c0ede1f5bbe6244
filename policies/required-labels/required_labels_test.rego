package k8s.required_labels_test

import data.k8s.required_labels
import rego.v1

labels := {"app.kubernetes.io/name": "web", "owner": "oncall-platform", "cost-centre": "cc-1234"}

test_denies_missing_labels if {
	svc := {"kind": "Service", "metadata": {"name": "web", "labels": {"app.kubernetes.io/name": "web"}}}
	msgs := required_labels.deny with input as svc
	msgs == {"MO-K8S-011 Service/web: missing labels [\"owner\", \"cost-centre\"]; set them (the charts take owner and costCentre values, or global.owner / global.costCentre)"}
}

test_denies_empty_values if {
	svc := {"kind": "Service", "metadata": {"name": "web", "labels": object.union(labels, {"owner": ""})}}
	count(required_labels.deny) == 1 with input as svc
}

test_denies_unlabelled_pod_templates if {
	deployment := {"kind": "Deployment", "metadata": {"name": "web", "labels": labels}, "spec": {"template": {"spec": {"containers": []}}}}
	msgs := required_labels.deny with input as deployment
	msgs == {"MO-K8S-011 Deployment/web: pod template is missing labels [\"app.kubernetes.io/name\", \"owner\", \"cost-centre\"]; add them to the pod template's metadata.labels"}
}

test_allows_labelled_objects if {
	deployment := {"kind": "Deployment", "metadata": {"name": "web", "labels": labels}, "spec": {"template": {"metadata": {"labels": labels}, "spec": {"containers": []}}}}
	count(required_labels.deny) == 0 with input as deployment
}
