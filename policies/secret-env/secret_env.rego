# MO-K8S-010: no secrets in plain environment values
#
# An env `value` ends up in the Deployment object, in `kubectl describe`, in Helm's release
# secret and in GitOps repositories. Variables whose names look like credentials (SECRET, TOKEN,
# PASSWORD, KEY, CREDENTIAL, PRIVATE, BASIC_AUTH, DATABASE_URL, DSN, and WEBHOOK_URL: an
# incoming-webhook URL such as Slack's is itself the credential) must come from `valueFrom`
# (secretKeyRef) or, as the micro-oncall services do, from a mounted file named by *_FILE.
#
# The same pattern guards `extraEnv` in charts/common/values.schema.shared.json; keep the two
# in step.
package k8s.secret_env

import data.lib.k8s
import rego.v1

secret_name_pattern := `(SECRET|TOKEN|PASSWORD|PASSWD|PASSPHRASE|CREDENTIAL|PRIVATE|BASIC_?AUTH|WEBHOOK_URL|(^|_)(API_?)?KEYS?(_|$)|APIKEY|DATABASE_URL|(^|_)DSN$)`

secret_looking(name) if {
	regex.match(secret_name_pattern, upper(name))
	not endswith(upper(name), "_FILE")
}

deny contains msg if {
	some obj in k8s.workloads
	some entry in k8s.containers(k8s.pod_spec(obj))
	some env in object.get(entry.container, "env", [])
	secret_looking(env.name)
	object.get(env, "value", "") != ""
	msg := sprintf(
		"MO-K8S-010 %s: container %q sets %s as a plain value; mount the Secret as a file and set %s_FILE, or use valueFrom.secretKeyRef",
		[k8s.name(obj), entry.container.name, env.name, env.name],
	)
}
