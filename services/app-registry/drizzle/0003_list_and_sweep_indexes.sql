DROP INDEX "app_registry"."apps_state_activity_idx";--> statement-breakpoint
CREATE INDEX "apps_state_activity_id_idx" ON "app_registry"."apps" USING btree ("state","last_activity_at","id");--> statement-breakpoint
CREATE INDEX "apps_state_name_idx" ON "app_registry"."apps" USING btree ("state","name","id");--> statement-breakpoint
CREATE INDEX "apps_disabled_at_idx" ON "app_registry"."apps" USING btree ("disabled_at") WHERE state = 'disabled';--> statement-breakpoint
CREATE INDEX "apps_team_lower_idx" ON "app_registry"."apps" USING btree (lower(team_name),"name","id");--> statement-breakpoint
CREATE INDEX "apps_owner_name_lower_idx" ON "app_registry"."apps" USING btree (lower(owner_name));--> statement-breakpoint
CREATE INDEX "apps_owner_contact_lower_idx" ON "app_registry"."apps" USING btree (lower(owner_contact));