# MO-APP-001: impact × data sensitivity × exposure gives the risk score and tier
package app_registry.classification

import data.app_registry.settings
import rego.v1

app := input.app

impact := settings.impact_scores[app.impact]

exposure := settings.exposure_scores[app.exposure]

# The most sensitive data class the app handles; an app that names none counts as internal.
sensitivity := max({settings.sensitivity_scores[c] | some c in data_classes})

data_classes := {c | some c in app.data_classes} if count(app.data_classes) > 0

data_classes := {"internal"} if count(app.data_classes) == 0

score := (impact * sensitivity) * exposure

handles_personal_data if {
	some c in data_classes
	c in settings.medium_at_least
}

# No default: an unknown impact, sensitivity or exposure leaves the tier (and the decision)
# undefined, and app-registry holds the app for review.
by_score := "low" if score <= settings.medium_above

by_score := "medium" if {
	score > settings.medium_above
	score <= settings.high_above
}

by_score := "high" if score > settings.high_above

tier := "medium" if {
	by_score == "low"
	handles_personal_data
}

tier := by_score if {
	not by_score == "low"
}

tier := by_score if {
	by_score == "low"
	not handles_personal_data
}

# Readable: what the score is made of.
explanation := sprintf(
	"risk score %d = impact %s (%d) × data sensitivity %s (%d) × exposure %s (%d): tier %s",
	[score, app.impact, impact, concat("+", sort(data_classes)), sensitivity, app.exposure, exposure, tier],
)
