package app_registry.controls_test

import data.app_registry.controls
import rego.v1

base := {
	"impact": "business_helpful",
	"data_classes": ["internal"],
	"exposure": "internal_network",
	"runtime": "serverless_function",
	"dedicated_namespace": false,
	"public_storage": false,
	"template": "micro-oncall-service",
	"idp_client_ids": [],
}

high := object.union(base, {
	"impact": "business_critical",
	"data_classes": ["pii"],
	"exposure": "authenticated_api",
	"runtime": "container",
	"dedicated_namespace": true,
})

status(id, inp) := s if {
	some c in controls.controls with input as inp
	c.id == id
	s := c.status
}

required(inp) := {c.id | some c in controls.controls with input as inp}

test_a_low_risk_app_needs_only_an_approved_template if {
	required({"app": base}) == {"approved_template"}
	status("approved_template", {"app": base}) == "satisfied"
}

test_an_unapproved_template_is_a_violation_that_names_the_approved_ones if {
	inp := {"app": object.union(base, {"template": "my-own-thing"})}
	status("approved_template", inp) == "violated"
	some c in controls.controls with input as inp
	c.id == "approved_template"
	c.message == "template my-own-thing is not an approved template"
	contains(c.fix, "micro-oncall-service")
}

test_an_app_without_a_template_is_a_violation if {
	status("approved_template", {"app": object.remove(base, ["template"])}) == "violated"
}

test_medium_needs_sso if {
	inp := {"app": object.union(base, {"exposure": "authenticated_api"})}
	required(inp) == {"approved_template", "sso"}
	status("sso", inp) == "missing"
	status("sso", object.union(inp, {"evidence": {"sso": {"client_id": "0oa1b2c3"}}})) == "satisfied"
}

test_sso_evidence_must_name_one_of_the_apps_clients if {
	inp := {
		"app": object.union(base, {"exposure": "authenticated_api", "idp_client_ids": ["0oa-expenses"]}),
		"evidence": {"sso": {"client_id": "0oa-someone-else"}},
	}
	status("sso", inp) == "failing"
	status("sso", object.union(inp, {"evidence": {"sso": {"client_id": "0oa-expenses"}}})) == "satisfied"
}

test_high_needs_sso_secrets_scanning_an_sbom_approval_and_the_personal_data_rules if {
	required({"app": high}) == {
		"approved_template", "sso", "secrets_scanning", "sbom", "human_approval",
		"personal_data_runtime", "personal_data_public_storage",
	}
}

test_a_secrets_scan_with_errors_is_failing_and_says_how_many if {
	inp := {"app": high, "evidence": {"secret_scan": {"tool": "gitleaks", "results_by_level": {"error": 2, "warning": 5}}}}
	status("secrets_scanning", inp) == "failing"
	some c in controls.controls with input as inp
	c.id == "secrets_scanning"
	c.message == "the secrets scan by gitleaks found 2 problem(s) at level error"
}

test_a_secrets_scan_with_only_warnings_is_clean if {
	inp := {"app": high, "evidence": {"secret_scan": {"tool": "gitleaks", "results_by_level": {"warning": 5}}}}
	status("secrets_scanning", inp) == "satisfied"
}

test_an_sbom_satisfies_the_sbom_control if {
	status("sbom", {"app": high}) == "missing"
	status("sbom", {"app": high, "evidence": {"sbom": {"format": "CycloneDX", "components": 3}}}) == "satisfied"
}

test_approval_for_the_tier_or_above_satisfies_human_approval if {
	status("human_approval", {"app": high}) == "missing"
	status("human_approval", {"app": high, "approval": {"tier": "medium"}}) == "missing"
	status("human_approval", {"app": high, "approval": {"tier": "high"}}) == "satisfied"
}

test_personal_data_on_a_function_is_a_violation if {
	inp := {"app": object.union(high, {"runtime": "serverless_function"})}
	status("personal_data_runtime", inp) == "violated"
}

test_personal_data_in_a_shared_namespace_is_a_violation if {
	inp := {"app": object.union(high, {"dedicated_namespace": false})}
	status("personal_data_runtime", inp) == "violated"
	some c in controls.controls with input as inp
	c.id == "personal_data_runtime"
	c.message == "handles pii on runtime container without a dedicated namespace"
}

test_personal_data_in_public_storage_is_a_violation if {
	status("personal_data_public_storage", {"app": object.union(high, {"public_storage": true})}) == "violated"
}

test_public_storage_without_personal_data_is_no_concern if {
	not "personal_data_public_storage" in required({"app": object.union(base, {"public_storage": true})})
}

test_an_exception_excuses_a_control if {
	inp := {"app": high, "exceptions": [{"control": "sbom"}]}
	status("sbom", inp) == "excepted"
	status("sso", inp) == "missing"
}

test_an_exception_never_excuses_the_human_approval if {
	status("human_approval", {"app": high, "exceptions": [{"control": "human_approval"}]}) == "missing"
}

test_an_exception_leaves_a_satisfied_control_satisfied if {
	inp := {"app": base, "exceptions": [{"control": "approved_template"}]}
	status("approved_template", inp) == "satisfied"
}

# --- evidence age ---

aged(doc, age, max) := object.union(doc, {"received_at": "2026-09-01T10:00:00.000Z", "age_days": age, "max_age_days": max})

test_a_stale_secrets_scan_fails_and_says_how_old_it_is if {
	scan := {"tool": "gitleaks", "results_by_level": {"error": 0}}
	inp := {"app": high, "evidence": {"secret_scan": aged(scan, 31, 30)}}
	status("secrets_scanning", inp) == "failing"
	some c in controls.controls with input as inp
	c.id == "secrets_scanning"
	c.message == "the secrets scan is 31 days old (posted 2026-09-01); evidence older than 30 days does not count"
	startswith(c.fix, "post a fresh secrets scan from the pipeline")
}

test_evidence_on_its_last_day_still_counts if {
	scan := {"tool": "gitleaks", "results_by_level": {"error": 0}}
	status("secrets_scanning", {"app": high, "evidence": {"secret_scan": aged(scan, 30, 30)}}) == "satisfied"
}

test_a_stale_sbom_and_a_stale_sso_client_fail if {
	inp := {"app": high, "evidence": {
		"sbom": aged({"format": "CycloneDX 1.6", "components": 3}, 120, 90),
		"sso": aged({"client_id": "0oa1"}, 400, 365),
	}}
	status("sbom", inp) == "failing"
	status("sso", inp) == "failing"
	some c in controls.controls with input as inp
	c.id == "sbom"
	contains(c.message, "the SBOM is 120 days old")
}

test_a_stale_sso_client_that_is_also_unknown_fails_once_for_its_age if {
	inp := {
		"app": object.union(high, {"idp_client_ids": ["0oa-expenses"]}),
		"evidence": {"sso": aged({"client_id": "0oa-someone-else"}, 400, 365)},
	}
	some c in controls.controls with input as inp
	c.id == "sso"
	c.status == "failing"
	contains(c.message, "400 days old")
}

test_an_exception_covers_stale_evidence if {
	inp := {"app": high, "evidence": {"sbom": aged({"format": "SPDX-2.3", "components": 1}, 120, 90)}, "exceptions": [{"control": "sbom"}]}
	status("sbom", inp) == "excepted"
}
