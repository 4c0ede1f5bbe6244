package k8s.secret_env_test

import data.k8s.secret_env
import rego.v1

pod(env) := {"kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": [{"name": "app", "env": env}]}}

test_denies_a_plain_token if {
	msgs := secret_env.deny with input as pod([{"name": "PAGERDUTY_API_TOKEN", "value": "u+abc"}])
	msgs == {"MO-K8S-010 Pod/p: container \"app\" sets PAGERDUTY_API_TOKEN as a plain value; mount the Secret as a file and set PAGERDUTY_API_TOKEN_FILE, or use valueFrom.secretKeyRef"}
}

test_denies_other_secret_looking_names if {
	env := [
		{"name": "DB_PASSWORD", "value": "hunter2"},
		{"name": "OPSGENIE_API_KEY", "value": "k"},
		{"name": "SESSION_SECRET", "value": "s"},
		{"name": "DATABASE_URL", "value": "postgres://u:p@db/x"},
		{"name": "private_key", "value": "-----BEGIN"},
	]
	count(secret_env.deny) == 5 with input as pod(env)
}

test_denies_basic_auth_credentials_and_webhook_urls if {
	# user:password pairs and incoming-webhook URLs (Slack, Teams, ...) are credentials too.
	env := [
		{"name": "ALERTMANAGER_WEBHOOK_BASIC_AUTH", "value": "alertmanager:correct-horse-battery"},
		{"name": "PROXY_BASICAUTH", "value": "u:p"},
		{"name": "SLACK_WEBHOOK_URL", "value": "https://hooks.slack.com/services/T000/B000/XXXX"},
		{"name": "TEAMS_WEBHOOK_URL", "value": "https://example.webhook.office.com/webhookb2/x"},
	]
	msgs := secret_env.deny with input as pod(env)
	count(msgs) == 4
	"MO-K8S-010 Pod/p: container \"app\" sets SLACK_WEBHOOK_URL as a plain value; mount the Secret as a file and set SLACK_WEBHOOK_URL_FILE, or use valueFrom.secretKeyRef" in msgs
}

test_allows_files_references_and_ordinary_names if {
	env := [
		{"name": "PAGERDUTY_API_TOKEN_FILE", "value": "/var/run/secrets/micro-oncall/pagerduty-api-token"},
		{"name": "SESSION_SECRET", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}},
		{"name": "KAFKA_BROKERS", "value": "kafka:9092"},
		{"name": "MONKEY_MODE", "value": "on"},
		{"name": "OIDC_AUDIENCE", "value": "micro-oncall"},
		{"name": "ALERTMANAGER_WEBHOOK_BASIC_AUTH_FILE", "value": "/var/run/secrets/micro-oncall/alertmanager-webhook-basic-auth"},
		{"name": "SLACK_WEBHOOK_URL_FILE", "value": "/var/run/secrets/micro-oncall/slack-webhook-url"},
		{"name": "OIDC_AUTHORIZATION_URL", "value": "https://login.example.com/auth"},
	]
	count(secret_env.deny) == 0 with input as pod(env)
}
