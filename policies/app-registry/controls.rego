# MO-APP-002..008: the controls an app must meet, each with its status and what to do
#
# A control is required by the app's tier (settings.tier_controls), by its score (human
# approval) or by what it handles (personal data). Status: satisfied, excepted (an approved,
# unexpired exception: the service passes only those), missing (no evidence), failing (the
# evidence shows a problem) or violated (the app's own description breaks the rule).
package app_registry.controls

import data.app_registry.classification
import data.app_registry.settings
import rego.v1

app := input.app

evidence := object.get(input, "evidence", {})

excepted contains e.control if {
	some e in object.get(input, "exceptions", [])
	e.control != "human_approval"
}

rules := {
	"approved_template": "MO-APP-002",
	"sso": "MO-APP-003",
	"secrets_scanning": "MO-APP-004",
	"sbom": "MO-APP-005",
	"human_approval": "MO-APP-006",
	"personal_data_runtime": "MO-APP-007",
	"personal_data_public_storage": "MO-APP-008",
}

titles := {
	"approved_template": "registered from an approved template",
	"sso": "single sign-on through the identity provider",
	"secrets_scanning": "secrets scanning in the pipeline",
	"sbom": "a software bill of materials",
	"human_approval": "a human approval",
	"personal_data_runtime": "personal data only on a containerised runtime in a dedicated namespace",
	"personal_data_public_storage": "no personal data in public storage",
}

required contains "approved_template"

required contains c if some c in settings.tier_controls[classification.tier]

required contains "human_approval" if classification.score > settings.approval_above

required contains "personal_data_runtime" if classification.handles_personal_data

required contains "personal_data_public_storage" if classification.handles_personal_data

# --- what each control's evidence or description says: [status, message, fix] ---

# Evidence older than its kind may be (the service sends each document's age in whole days and
# the maximum configured for its kind) no longer counts: the control fails, naming the evidence
# and its age, until a fresh document is posted.
stale(kind) if evidence[kind].age_days > evidence[kind].max_age_days

fresh(kind) if {
	evidence[kind]
	not stale(kind)
}

evidence_names := {
	"sso": "SSO client id",
	"secret_scan": "secrets scan",
	"dependency_scan": "dependency scan",
	"sbom": "SBOM",
}

stale_assessment(kind, fix) := [
	"failing",
	sprintf(
		"the %s is %d days old (posted %s); evidence older than %d days does not count",
		[evidence_names[kind], evidence[kind].age_days, substring(evidence[kind].received_at, 0, 10), evidence[kind].max_age_days],
	),
	sprintf("post a fresh %s from the pipeline: %s", [evidence_names[kind], fix]),
]

assessment("approved_template") := ["satisfied", sprintf("template %s is approved", [app.template]), ""] if {
	settings.approved_templates[app.template]
}

assessment("approved_template") := ["violated", sprintf("template %s is not an approved template", [app.template]), fix_template] if {
	is_string(app.template)
	not settings.approved_templates[app.template]
}

assessment("approved_template") := ["violated", "the app names no template", fix_template] if {
	not is_string(object.get(app, "template", null))
}

fix_template := sprintf(
	"register the app from an approved template: %s",
	[concat(", ", sort(object.keys(settings.approved_templates)))],
)

registered_clients := {c | some c in object.get(app, "idp_client_ids", [])}

assessment("sso") := ["missing", "no single sign-on client id has been posted", fix_sso] if not evidence.sso

assessment("sso") := stale_assessment("sso", fix_sso) if stale("sso")

assessment("sso") := [
	"failing",
	sprintf("SSO client id %s is not one of the app's identity-provider clients (%s)", [evidence.sso.client_id, concat(", ", sort(registered_clients))]),
	"post the client id the app signs in with, or add it to the app's identity-provider client ids",
] if {
	fresh("sso")
	count(registered_clients) > 0
	not evidence.sso.client_id in registered_clients
}

assessment("sso") := ["satisfied", sprintf("signs in through the identity provider (client %s)", [evidence.sso.client_id]), ""] if {
	fresh("sso")
	sso_client_known
}

sso_client_known if count(registered_clients) == 0

sso_client_known if evidence.sso.client_id in registered_clients

fix_sso := "configure the app's OIDC client at the identity provider and post its client id as sso evidence"

assessment("secrets_scanning") := ["missing", "no secrets scan (SARIF) has been posted", fix_scan] if not evidence.secret_scan

assessment("secrets_scanning") := stale_assessment("secret_scan", fix_scan) if stale("secret_scan")

assessment("secrets_scanning") := [
	"failing",
	sprintf("the secrets scan by %s found %d problem(s) at level %s", [evidence.secret_scan.tool, failing_results(evidence.secret_scan), concat("/", sort(settings.failing_sarif_levels))]),
	"remove the secrets from the code and history, rotate them, then post a clean scan",
] if {
	fresh("secret_scan")
	failing_results(evidence.secret_scan) > 0
}

assessment("secrets_scanning") := ["satisfied", sprintf("secrets scan by %s is clean", [evidence.secret_scan.tool]), ""] if {
	fresh("secret_scan")
	failing_results(evidence.secret_scan) == 0
}

fix_sbom := "generate an SBOM in the pipeline (syft, cdxgen, the build tool's plugin) and post it as sbom evidence"

fix_scan := "run a secrets scanner (gitleaks, trufflehog, GitHub secret scanning) in the pipeline and post its SARIF as secret_scan evidence"

failing_results(scan) := sum([n | some level, n in scan.results_by_level; level in settings.failing_sarif_levels])

assessment("sbom") := [
	"missing", "no SBOM (CycloneDX or SPDX) has been posted",
	fix_sbom,
] if not evidence.sbom

assessment("sbom") := stale_assessment("sbom", fix_sbom) if stale("sbom")

assessment("sbom") := ["satisfied", sprintf("%s SBOM with %d component(s)", [evidence.sbom.format, evidence.sbom.components]), ""] if {
	fresh("sbom")
}

assessment("human_approval") := [
	"satisfied",
	sprintf("approved for tier %s", [input.approval.tier]),
	"",
] if {
	tier_rank[input.approval.tier] >= tier_rank[classification.tier]
}

assessment("human_approval") := [
	"missing",
	sprintf("risk score %d is above %d: an approver must approve the app", [classification.score, settings.approval_above]),
	"wait for an approver (not the requester), or lower the risk: less sensitive data, less exposure",
] if {
	not approved_for_tier
}

approved_for_tier if tier_rank[input.approval.tier] >= tier_rank[classification.tier]

tier_rank := {"low": 1, "medium": 2, "high": 3}

assessment("personal_data_runtime") := ["satisfied", "runs in a container in a dedicated namespace", ""] if {
	app.runtime in settings.containerised_runtimes
	app.dedicated_namespace == true
}

assessment("personal_data_runtime") := [
	"violated",
	sprintf("handles %s on runtime %s%s", [concat("+", sort(personal_classes)), app.runtime, namespace_note]),
	"run the app on a containerised runtime in a namespace of its own, or stop handling personal data",
] if {
	not personal_runtime_ok
}

personal_runtime_ok if {
	app.runtime in settings.containerised_runtimes
	app.dedicated_namespace == true
}

namespace_note := "" if app.dedicated_namespace == true

namespace_note := " without a dedicated namespace" if not app.dedicated_namespace == true

personal_classes := {c | some c in app.data_classes; c in settings.personal_data}

assessment("personal_data_public_storage") := ["satisfied", "keeps no data in public storage", ""] if {
	not app.public_storage == true
}

assessment("personal_data_public_storage") := [
	"violated",
	sprintf("handles %s and keeps data in public storage", [concat("+", sort(personal_classes))]),
	"move the data to private storage (no public bucket, no public website), encrypted with a key under IT control",
] if {
	app.public_storage == true
}

# --- every required control, with its status ---

controls := [control |
	some id in sort(required)
	[status, message, fix] := assessment(id)
	control := {
		"id": id,
		"rule": rules[id],
		"title": titles[id],
		"status": effective_status(id, status),
		"message": message,
		"fix": fix,
	}
]

effective_status(id, status) := "excepted" if {
	status in {"missing", "failing", "violated"}
	id in excepted
}

effective_status(_, status) := status if {
	not status in {"missing", "failing", "violated"}
}

effective_status(id, status) := status if {
	not id in excepted
}
