# MO-APP-009: the onboarding decision app-registry asks for (data.app_registry.decision)
#
# approve: every required control is met; needs_approval: only a human approval is missing;
# refuse: a required control is missing, failing or violated (the reasons say which rule and
# what to change). app-registry holds an app for review when this document is undefined, does
# not match its shape, or OPA cannot be reached: it never approves by default.
package app_registry

import data.app_registry.classification
import data.app_registry.controls
import data.app_registry.settings
import rego.v1

unmet := {"missing", "failing", "violated"}

blocking := [c | some c in controls.controls; c.status in unmet; c.id != "human_approval"]

awaiting_approval if {
	some c in controls.controls
	c.id == "human_approval"
	c.status in unmet
}

default outcome := "approve"

outcome := "refuse" if count(blocking) > 0

outcome := "needs_approval" if {
	count(blocking) == 0
	awaiting_approval
}

# What stands in the way, blocking controls first, then a missing approval.
reasons := array.concat([reason(c) | some c in blocking], [reason(c) |
	some c in controls.controls
	c.id == "human_approval"
	c.status in unmet
])

reason(c) := {"rule": c.rule, "control": c.id, "message": c.message, "fix": c.fix}

decision := {
	"policy_version": settings.policy_version,
	"outcome": outcome,
	"score": classification.score,
	"tier": classification.tier,
	"explanation": classification.explanation,
	"controls": controls.controls,
	"reasons": reasons,
}

# Many apps in one request (imports, re-evaluation): input.apps maps a key to one app's input.
decisions[key] := d if {
	some key, one in input.apps
	d := decision with input as one
}

# The approved templates, for the onboarding form and GET /apps/v1/templates.
templates := [{"name": name, "description": description} |
	some name, description in settings.approved_templates
]
