CREATE SCHEMA "app_registry";
--> statement-breakpoint
CREATE TYPE "app_registry"."app_exposure" AS ENUM('internal_network', 'authenticated_api', 'public_url');--> statement-breakpoint
CREATE TYPE "app_registry"."app_impact" AS ENUM('business_critical', 'business_helpful', 'experimental');--> statement-breakpoint
CREATE TYPE "app_registry"."app_origin" AS ENUM('api', 'import', 'backstage', 'discovery');--> statement-breakpoint
CREATE TYPE "app_registry"."app_runtime" AS ENUM('serverless_function', 'wasm', 'container', 'low_code', 'saas_connector', 'other');--> statement-breakpoint
CREATE TYPE "app_registry"."app_sla" AS ENUM('best_effort', 'business_hours', 'always_on');--> statement-breakpoint
CREATE TYPE "app_registry"."app_state" AS ENUM('refused', 'held', 'pending_approval', 'active', 'idle', 'disabled', 'archived', 'purged');--> statement-breakpoint
CREATE TYPE "app_registry"."audit_outcome" AS ENUM('allowed', 'denied', 'failed');--> statement-breakpoint
CREATE TYPE "app_registry"."decision_outcome" AS ENUM('approve', 'needs_approval', 'refuse', 'hold', 'approved', 'rejected');--> statement-breakpoint
CREATE TYPE "app_registry"."evidence_kind" AS ENUM('sbom', 'secret_scan', 'dependency_scan', 'sso');--> statement-breakpoint
CREATE TYPE "app_registry"."exception_status" AS ENUM('pending', 'approved', 'rejected');--> statement-breakpoint
CREATE TYPE "app_registry"."risk_tier" AS ENUM('low', 'medium', 'high');--> statement-breakpoint
CREATE TABLE "app_registry"."app_history" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"app_id" text NOT NULL,
	"at" timestamp with time zone NOT NULL,
	"actor_subject" text NOT NULL,
	"actor_name" text,
	"action" text NOT NULL,
	"changes" jsonb NOT NULL,
	"detail" text,
	"request_id" text
);
--> statement-breakpoint
CREATE TABLE "app_registry"."app_tokens" (
	"id" uuid PRIMARY KEY NOT NULL,
	"app_id" text NOT NULL,
	"sha256" text NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"created_by" text NOT NULL,
	"revoked_at" timestamp with time zone,
	"last_used_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "app_registry"."applied_events" (
	"event_id" text PRIMARY KEY NOT NULL,
	"applied_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "app_registry"."apps" (
	"id" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"purpose" text DEFAULT '' NOT NULL,
	"owner_name" text,
	"owner_contact" text,
	"owner_subject" text,
	"team_name" text NOT NULL,
	"team_contact" text NOT NULL,
	"state" "app_registry"."app_state" NOT NULL,
	"state_changed_at" timestamp with time zone NOT NULL,
	"runtime" "app_registry"."app_runtime" NOT NULL,
	"environments" text[] DEFAULT '{}'::text[] NOT NULL,
	"repository" text,
	"endpoints" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"idp_client_ids" text[] DEFAULT '{}'::text[] NOT NULL,
	"cloud_resource_ids" text[] DEFAULT '{}'::text[] NOT NULL,
	"data_classes" text[] DEFAULT '{}'::text[] NOT NULL,
	"impact" "app_registry"."app_impact" NOT NULL,
	"exposure" "app_registry"."app_exposure" NOT NULL,
	"namespace" text,
	"dedicated_namespace" boolean DEFAULT false NOT NULL,
	"public_storage" boolean DEFAULT false NOT NULL,
	"cost_centre" text,
	"tags" text[] DEFAULT '{}'::text[] NOT NULL,
	"template" text,
	"sla" "app_registry"."app_sla" DEFAULT 'best_effort' NOT NULL,
	"risk_score" integer,
	"tier" "app_registry"."risk_tier",
	"decision" jsonb,
	"open_violations" integer DEFAULT 0 NOT NULL,
	"approved_tier" "app_registry"."risk_tier",
	"approved_by" text,
	"approved_at" timestamp with time zone,
	"requested_by" text NOT NULL,
	"lifecycle_exempt_until" timestamp with time zone,
	"last_activity_at" timestamp with time zone NOT NULL,
	"disabled_at" timestamp with time zone,
	"archived_at" timestamp with time zone,
	"purge_after" timestamp with time zone,
	"origin" "app_registry"."app_origin" DEFAULT 'api' NOT NULL,
	"origin_ref" text,
	"search_text" text DEFAULT '' NOT NULL,
	"search" "tsvector" GENERATED ALWAYS AS (to_tsvector('simple'::regconfig, search_text)) STORED,
	"created_at" timestamp with time zone NOT NULL,
	"updated_at" timestamp with time zone NOT NULL,
	"version" integer DEFAULT 1 NOT NULL
);
--> statement-breakpoint
CREATE TABLE "app_registry"."audit_log" (
	"id" uuid PRIMARY KEY NOT NULL,
	"at" timestamp with time zone NOT NULL,
	"actor_subject" text NOT NULL,
	"actor_name" text,
	"action" text NOT NULL,
	"outcome" "app_registry"."audit_outcome" NOT NULL,
	"app_id" text,
	"detail" text NOT NULL,
	"request_id" text,
	"request" jsonb
);
--> statement-breakpoint
CREATE TABLE "app_registry"."control_exceptions" (
	"id" uuid PRIMARY KEY NOT NULL,
	"app_id" text NOT NULL,
	"control" text NOT NULL,
	"reason" text NOT NULL,
	"status" "app_registry"."exception_status" NOT NULL,
	"requested_by" text NOT NULL,
	"requested_at" timestamp with time zone NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"decided_by" text,
	"decided_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "app_registry"."decisions" (
	"id" uuid PRIMARY KEY NOT NULL,
	"app_id" text NOT NULL,
	"at" timestamp with time zone NOT NULL,
	"outcome" "app_registry"."decision_outcome" NOT NULL,
	"decided_by" text NOT NULL,
	"tier" "app_registry"."risk_tier",
	"score" integer,
	"policy_version" text,
	"reasons" jsonb NOT NULL,
	"controls" jsonb NOT NULL,
	"comment" text
);
--> statement-breakpoint
CREATE TABLE "app_registry"."evidence" (
	"id" uuid PRIMARY KEY NOT NULL,
	"seq" bigserial NOT NULL,
	"app_id" text NOT NULL,
	"kind" "app_registry"."evidence_kind" NOT NULL,
	"format" text NOT NULL,
	"received_at" timestamp with time zone NOT NULL,
	"summary" jsonb NOT NULL,
	"sha256" text NOT NULL,
	"token_id" uuid
);
--> statement-breakpoint
CREATE TABLE "app_registry"."notifications" (
	"id" uuid PRIMARY KEY NOT NULL,
	"app_id" text NOT NULL,
	"kind" text NOT NULL,
	"title" text NOT NULL,
	"text" text NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"sent_at" timestamp with time zone,
	"attempts" integer DEFAULT 0 NOT NULL,
	"last_error" text
);
--> statement-breakpoint
ALTER TABLE "app_registry"."app_history" ADD CONSTRAINT "app_history_app_fk" FOREIGN KEY ("app_id") REFERENCES "app_registry"."apps"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "app_registry"."app_tokens" ADD CONSTRAINT "app_tokens_app_fk" FOREIGN KEY ("app_id") REFERENCES "app_registry"."apps"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "app_registry"."control_exceptions" ADD CONSTRAINT "control_exceptions_app_fk" FOREIGN KEY ("app_id") REFERENCES "app_registry"."apps"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "app_registry"."decisions" ADD CONSTRAINT "decisions_app_fk" FOREIGN KEY ("app_id") REFERENCES "app_registry"."apps"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "app_registry"."evidence" ADD CONSTRAINT "evidence_app_fk" FOREIGN KEY ("app_id") REFERENCES "app_registry"."apps"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "app_registry"."notifications" ADD CONSTRAINT "notifications_app_fk" FOREIGN KEY ("app_id") REFERENCES "app_registry"."apps"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "app_history_app_idx" ON "app_registry"."app_history" USING btree ("app_id","id");--> statement-breakpoint
CREATE INDEX "app_tokens_app_idx" ON "app_registry"."app_tokens" USING btree ("app_id");--> statement-breakpoint
CREATE UNIQUE INDEX "apps_name_key" ON "app_registry"."apps" USING btree ("name") WHERE state <> 'purged';--> statement-breakpoint
CREATE INDEX "apps_state_activity_idx" ON "app_registry"."apps" USING btree ("state","last_activity_at");--> statement-breakpoint
CREATE INDEX "apps_state_changed_idx" ON "app_registry"."apps" USING btree ("state","state_changed_at");--> statement-breakpoint
CREATE INDEX "apps_purge_after_idx" ON "app_registry"."apps" USING btree ("purge_after") WHERE state = 'archived';--> statement-breakpoint
CREATE INDEX "apps_team_idx" ON "app_registry"."apps" USING btree ("team_name");--> statement-breakpoint
CREATE INDEX "apps_tier_idx" ON "app_registry"."apps" USING btree ("tier");--> statement-breakpoint
CREATE INDEX "apps_created_idx" ON "app_registry"."apps" USING btree ("created_at","id");--> statement-breakpoint
CREATE INDEX "apps_updated_idx" ON "app_registry"."apps" USING btree ("updated_at","id");--> statement-breakpoint
CREATE INDEX "apps_activity_idx" ON "app_registry"."apps" USING btree ("last_activity_at","id");--> statement-breakpoint
CREATE INDEX "apps_risk_idx" ON "app_registry"."apps" USING btree (coalesce(risk_score, -1),"id");--> statement-breakpoint
CREATE INDEX "apps_search_idx" ON "app_registry"."apps" USING gin ("search");--> statement-breakpoint
CREATE INDEX "apps_tags_idx" ON "app_registry"."apps" USING gin ("tags");--> statement-breakpoint
CREATE INDEX "apps_data_classes_idx" ON "app_registry"."apps" USING gin ("data_classes");--> statement-breakpoint
CREATE INDEX "apps_environments_idx" ON "app_registry"."apps" USING gin ("environments");--> statement-breakpoint
CREATE INDEX "apps_idp_clients_idx" ON "app_registry"."apps" USING gin ("idp_client_ids");--> statement-breakpoint
CREATE INDEX "apps_cloud_resources_idx" ON "app_registry"."apps" USING gin ("cloud_resource_ids");--> statement-breakpoint
CREATE INDEX "apps_endpoints_idx" ON "app_registry"."apps" USING gin (endpoints jsonb_path_ops);--> statement-breakpoint
CREATE INDEX "audit_log_at_idx" ON "app_registry"."audit_log" USING btree ("at");--> statement-breakpoint
CREATE INDEX "audit_log_app_idx" ON "app_registry"."audit_log" USING btree ("app_id","at");--> statement-breakpoint
CREATE INDEX "audit_log_actor_idx" ON "app_registry"."audit_log" USING btree ("actor_subject","at");--> statement-breakpoint
CREATE INDEX "control_exceptions_app_idx" ON "app_registry"."control_exceptions" USING btree ("app_id","status");--> statement-breakpoint
CREATE INDEX "decisions_app_idx" ON "app_registry"."decisions" USING btree ("app_id","at");--> statement-breakpoint
CREATE INDEX "evidence_app_kind_idx" ON "app_registry"."evidence" USING btree ("app_id","kind","seq");--> statement-breakpoint
CREATE INDEX "notifications_unsent_idx" ON "app_registry"."notifications" USING btree ("created_at") WHERE sent_at is null;