package app_registry.decision_test

import data.app_registry
import rego.v1

low := {
	"impact": "experimental",
	"data_classes": ["internal"],
	"exposure": "internal_network",
	"runtime": "serverless_function",
	"dedicated_namespace": false,
	"public_storage": false,
	"template": "micro-oncall-service",
	"idp_client_ids": [],
}

high := object.union(low, {
	"impact": "business_critical",
	"data_classes": ["pii"],
	"exposure": "authenticated_api",
	"runtime": "container",
	"dedicated_namespace": true,
})

all_evidence := {
	"sso": {"client_id": "0oa-expenses"},
	"secret_scan": {"tool": "gitleaks", "results_by_level": {}},
	"sbom": {"format": "CycloneDX", "components": 12},
}

test_a_low_risk_app_is_approved_at_once if {
	d := app_registry.decision with input as {"app": low}
	d.outcome == "approve"
	d.tier == "low"
	d.reasons == []
	d.policy_version != ""
}

test_a_high_risk_app_without_evidence_is_refused_with_the_rules_and_fixes if {
	d := app_registry.decision with input as {"app": high}
	d.outcome == "refuse"
	d.tier == "high"
	{r.rule | some r in d.reasons} == {"MO-APP-003", "MO-APP-004", "MO-APP-005", "MO-APP-006"}
	every r in d.reasons {
		r.fix != ""
	}
}

test_blocking_reasons_come_before_the_missing_approval if {
	d := app_registry.decision with input as {"app": high}
	d.reasons[count(d.reasons) - 1].control == "human_approval"
}

test_a_high_risk_app_with_its_evidence_waits_for_an_approver if {
	d := app_registry.decision with input as {"app": high, "evidence": all_evidence}
	d.outcome == "needs_approval"
	[r.control | some r in d.reasons] == ["human_approval"]
}

test_a_high_risk_app_with_evidence_and_approval_is_approved if {
	d := app_registry.decision with input as {"app": high, "evidence": all_evidence, "approval": {"tier": "high"}}
	d.outcome == "approve"
}

test_an_excepted_control_does_not_block if {
	inp := {"app": high, "evidence": object.remove(all_evidence, ["sbom"]), "exceptions": [{"control": "sbom"}]}
	d := app_registry.decision with input as inp
	d.outcome == "needs_approval"
}

test_an_unknown_classification_leaves_the_decision_undefined if {
	not app_registry.decision with input as {"app": object.union(low, {"exposure": "carrier_pigeon"})}
}

test_decisions_evaluates_many_apps_at_once if {
	ds := app_registry.decisions with input as {"apps": {"a": {"app": low}, "b": {"app": high}}}
	ds.a.outcome == "approve"
	ds.b.outcome == "refuse"
}

test_templates_lists_the_approved_templates if {
	some t in app_registry.templates
	t.name == "micro-oncall-service"
}
