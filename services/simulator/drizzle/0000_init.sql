CREATE SCHEMA "simulator";
--> statement-breakpoint
CREATE TYPE "simulator"."alert_state" AS ENUM('sending', 'firing', 'resolved', 'refused');--> statement-breakpoint
CREATE TYPE "simulator"."audit_outcome" AS ENUM('succeeded', 'denied', 'failed');--> statement-breakpoint
CREATE TYPE "simulator"."environment" AS ENUM('staging', 'production');--> statement-breakpoint
CREATE TYPE "simulator"."run_state" AS ENUM('awaiting_approval', 'rejected', 'running', 'completed', 'aborted', 'expired', 'failed');--> statement-breakpoint
CREATE TYPE "simulator"."severity" AS ENUM('critical', 'high', 'medium', 'low', 'info');--> statement-breakpoint
CREATE TYPE "simulator"."step_state" AS ENUM('pending', 'fired', 'failed', 'skipped');--> statement-breakpoint
CREATE TYPE "simulator"."target" AS ENUM('pagerduty', 'alertmanager', 'ingest');--> statement-breakpoint
CREATE TABLE "simulator"."audit_log" (
	"id" uuid PRIMARY KEY NOT NULL,
	"at" timestamp with time zone DEFAULT now() NOT NULL,
	"actor_subject" text NOT NULL,
	"actor_name" text,
	"action" text NOT NULL,
	"outcome" "simulator"."audit_outcome" NOT NULL,
	"run_id" uuid,
	"scenario_id" text,
	"detail" text NOT NULL,
	"request_id" text NOT NULL,
	"request" jsonb
);
--> statement-breakpoint
CREATE TABLE "simulator"."kill_switch" (
	"id" smallint PRIMARY KEY DEFAULT 1 NOT NULL,
	"engaged" boolean DEFAULT false NOT NULL,
	"changed_at" timestamp with time zone,
	"changed_by_subject" text,
	"changed_by_name" text,
	"reason" text,
	CONSTRAINT "kill_switch_single_row" CHECK ("simulator"."kill_switch"."id" = 1)
);
--> statement-breakpoint
CREATE TABLE "simulator"."run_alerts" (
	"run_id" uuid NOT NULL,
	"alert_key" text NOT NULL,
	"target" "simulator"."target" NOT NULL,
	"dedup_key" text NOT NULL,
	"labels" jsonb NOT NULL,
	"previous_labels" jsonb,
	"annotations" jsonb NOT NULL,
	"severity" "simulator"."severity" NOT NULL,
	"summary" text NOT NULL,
	"service" text NOT NULL,
	"starts_at" timestamp with time zone NOT NULL,
	"state" "simulator"."alert_state" NOT NULL,
	"last_sent_at" timestamp with time zone,
	"resolved_at" timestamp with time zone,
	"last_error" text,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "run_alerts_pkey" PRIMARY KEY("run_id","alert_key","target")
);
--> statement-breakpoint
CREATE TABLE "simulator"."run_steps" (
	"run_id" uuid NOT NULL,
	"index" integer NOT NULL,
	"offset_seconds" integer NOT NULL,
	"spec" jsonb NOT NULL,
	"state" "simulator"."step_state" DEFAULT 'pending' NOT NULL,
	"due_at" timestamp with time zone,
	"fired_at" timestamp with time zone,
	"alerts" jsonb NOT NULL,
	"failed_target" "simulator"."target",
	"error" text,
	CONSTRAINT "run_steps_pkey" PRIMARY KEY("run_id","index")
);
--> statement-breakpoint
CREATE TABLE "simulator"."runs" (
	"id" uuid PRIMARY KEY NOT NULL,
	"scenario_id" text NOT NULL,
	"scenario_version" integer NOT NULL,
	"scenario_name" text NOT NULL,
	"team" text NOT NULL,
	"environment" "simulator"."environment" NOT NULL,
	"state" "simulator"."run_state" NOT NULL,
	"severity" "simulator"."severity" NOT NULL,
	"targets" jsonb NOT NULL,
	"requested_by_subject" text NOT NULL,
	"requested_by_name" text,
	"production_reason" text,
	"approval_reasons" jsonb NOT NULL,
	"approved_by_subject" text,
	"approved_by_name" text,
	"approved_at" timestamp with time zone,
	"max_duration_seconds" integer NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"started_at" timestamp with time zone,
	"expires_at" timestamp with time zone NOT NULL,
	"ended_at" timestamp with time zone,
	"ended_by_subject" text,
	"ended_by_name" text,
	"end_reason" text,
	"failure" jsonb,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "runs_max_duration" CHECK ("simulator"."runs"."max_duration_seconds" between 60 and 14400)
);
--> statement-breakpoint
CREATE TABLE "simulator"."scenarios" (
	"id" text NOT NULL,
	"version" integer NOT NULL,
	"name" text NOT NULL,
	"team" text NOT NULL,
	"environment" "simulator"."environment" NOT NULL,
	"definition" jsonb NOT NULL,
	"digest" text NOT NULL,
	"source" text NOT NULL,
	"created_by_subject" text,
	"created_by_name" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "scenarios_pkey" PRIMARY KEY("id","version"),
	CONSTRAINT "scenarios_version_positive" CHECK ("simulator"."scenarios"."version" >= 1)
);
--> statement-breakpoint
ALTER TABLE "simulator"."run_alerts" ADD CONSTRAINT "run_alerts_run_fkey" FOREIGN KEY ("run_id") REFERENCES "simulator"."runs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "simulator"."run_steps" ADD CONSTRAINT "run_steps_run_fkey" FOREIGN KEY ("run_id") REFERENCES "simulator"."runs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "simulator"."runs" ADD CONSTRAINT "runs_scenario_fkey" FOREIGN KEY ("scenario_id","scenario_version") REFERENCES "simulator"."scenarios"("id","version") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "audit_log_at_idx" ON "simulator"."audit_log" USING btree ("at");--> statement-breakpoint
CREATE INDEX "audit_log_run_idx" ON "simulator"."audit_log" USING btree ("run_id","at");--> statement-breakpoint
CREATE INDEX "audit_log_actor_idx" ON "simulator"."audit_log" USING btree ("actor_subject","at");--> statement-breakpoint
CREATE INDEX "run_alerts_open_idx" ON "simulator"."run_alerts" USING btree ("run_id") WHERE "simulator"."run_alerts"."state" in ('sending', 'firing');--> statement-breakpoint
CREATE INDEX "runs_state_idx" ON "simulator"."runs" USING btree ("state","expires_at");--> statement-breakpoint
CREATE INDEX "runs_created_idx" ON "simulator"."runs" USING btree ("created_at");