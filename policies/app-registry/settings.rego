# MO-APP-000: the settings the app-registry rules share (scores, thresholds, templates, tier controls)
#
# Change these to change decisions: app-registry evaluates the policy at run time (OPA), so a new
# threshold or a new required control applies to the next decision without a code change. Bump
# policy_version with every change: each decision records the version it was made under.
package app_registry.settings

import rego.v1

policy_version := "2026-12-01.2"

# Risk score = impact × data sensitivity × exposure, from 1 to 36.
impact_scores := {"experimental": 1, "business_helpful": 2, "business_critical": 3}

# An app's sensitivity is that of the most sensitive data class it handles.
sensitivity_scores := {"public": 1, "internal": 2, "regulated": 3, "pii": 4, "phi": 4}

exposure_scores := {"internal_network": 1, "authenticated_api": 2, "public_url": 3}

# Tier: low up to medium_above, medium up to high_above, high above it.
medium_above := 4

high_above := 12

# Personal or health data makes an app at least medium, whatever its score.
medium_at_least := {"pii", "phi"}

# A human approval (an approver, not the requester) is needed above this score.
approval_above := 12

# Evidence-backed controls each tier requires (see controls.rego for what satisfies each).
tier_controls := {
	"low": set(),
	"medium": {"sso"},
	"high": {"sso", "secrets_scanning", "sbom"},
}

# Templates an app may be registered from ("must use an approved template").
approved_templates := {
	"micro-oncall-service": "The starter service template (npm run new-service): SSO, logging, metrics, chart",
	"static-site": "A static site behind the platform's single sign-on",
}

# Data classes that may only run on a containerised runtime in a dedicated namespace, and never
# sit in public storage.
personal_data := {"pii", "phi"}

containerised_runtimes := {"container"}

# Scans fail on results of these SARIF levels.
failing_sarif_levels := {"error"}
