package app_registry.classification_test

import data.app_registry.classification
import rego.v1

app(impact, data_classes, exposure) := {"app": {
	"impact": impact,
	"data_classes": data_classes,
	"exposure": exposure,
}}

test_an_experimental_internal_tool_is_low_risk if {
	classification.score == 2 with input as app("experimental", ["internal"], "internal_network")
	classification.tier == "low" with input as app("experimental", ["internal"], "internal_network")
}

test_a_helpful_authenticated_api_on_internal_data_is_medium if {
	classification.score == 8 with input as app("business_helpful", ["internal"], "authenticated_api")
	classification.tier == "medium" with input as app("business_helpful", ["internal"], "authenticated_api")
}

test_a_critical_public_app_with_personal_data_is_high if {
	classification.score == 36 with input as app("business_critical", ["pii", "internal"], "public_url")
	classification.tier == "high" with input as app("business_critical", ["pii", "internal"], "public_url")
}

test_the_most_sensitive_data_class_counts if {
	classification.sensitivity == 3 with input as app("experimental", ["public", "regulated", "internal"], "internal_network")
}

test_personal_data_makes_a_low_score_medium if {
	inp := app("experimental", ["pii"], "internal_network")
	classification.score == 4 with input as inp
	classification.tier == "medium" with input as inp
}

test_an_app_that_names_no_data_counts_as_internal if {
	classification.sensitivity == 2 with input as app("business_helpful", [], "internal_network")
}

test_the_boundaries_between_tiers if {
	classification.tier == "low" with input as app("business_helpful", ["internal"], "internal_network") # 4
	classification.tier == "medium" with input as app("business_critical", ["regulated"], "internal_network") # 9
	classification.tier == "medium" with input as app("business_critical", ["internal"], "authenticated_api") # 12
	classification.tier == "high" with input as app("business_helpful", ["regulated"], "public_url") # 18
}

test_an_unknown_impact_gives_no_tier if {
	not classification.tier with input as app("galactic", ["internal"], "internal_network")
}

test_the_explanation_names_every_factor if {
	classification.explanation == "risk score 8 = impact business_helpful (2) × data sensitivity internal (2) × exposure authenticated_api (2): tier medium" with input as app("business_helpful", ["internal"], "authenticated_api")
}
