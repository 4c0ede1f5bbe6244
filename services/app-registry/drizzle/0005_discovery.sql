CREATE TYPE "app_registry"."candidate_state" AS ENUM('open', 'registered', 'dismissed');--> statement-breakpoint
CREATE TYPE "app_registry"."candidate_task_status" AS ENUM('open', 'resolved', 'cancelled');--> statement-breakpoint
CREATE TYPE "app_registry"."discovery_run_status" AS ENUM('running', 'succeeded', 'partial', 'failed');--> statement-breakpoint
CREATE TYPE "app_registry"."discovery_trigger" AS ENUM('schedule', 'manual');--> statement-breakpoint
CREATE TABLE "app_registry"."candidate_ownership_tasks" (
	"id" uuid PRIMARY KEY NOT NULL,
	"candidate_id" uuid NOT NULL,
	"status" "app_registry"."candidate_task_status" DEFAULT 'open' NOT NULL,
	"reason" text NOT NULL,
	"detail" text NOT NULL,
	"candidates" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"opened_at" timestamp with time zone NOT NULL,
	"opened_by" text NOT NULL,
	"resolved_at" timestamp with time zone,
	"resolved_by" text,
	"resolution" text
);
--> statement-breakpoint
CREATE TABLE "app_registry"."discovery_candidates" (
	"id" uuid PRIMARY KEY NOT NULL,
	"kind" text NOT NULL,
	"key" text NOT NULL,
	"label" text NOT NULL,
	"match" jsonb NOT NULL,
	"sources" text[] DEFAULT '{}'::text[] NOT NULL,
	"first_seen_at" timestamp with time zone NOT NULL,
	"last_seen_at" timestamp with time zone NOT NULL,
	"sightings" bigint DEFAULT 0 NOT NULL,
	"creators" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"top_callers" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"evidence" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"suggested_owner" text,
	"suggested_owner_why" text,
	"flagged_at" timestamp with time zone,
	"state" "app_registry"."candidate_state" DEFAULT 'open' NOT NULL,
	"task_id" uuid,
	"app_id" text,
	"decided_by" text,
	"decided_at" timestamp with time zone,
	"dismiss_reason" text,
	"created_at" timestamp with time zone NOT NULL,
	"updated_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "app_registry"."discovery_cursors" (
	"source" text NOT NULL,
	"file" text NOT NULL,
	"line" integer NOT NULL,
	"size" bigint NOT NULL,
	"head" text NOT NULL,
	"updated_at" timestamp with time zone NOT NULL,
	CONSTRAINT "discovery_cursors_pkey" PRIMARY KEY("source","file")
);
--> statement-breakpoint
CREATE TABLE "app_registry"."discovery_runs" (
	"id" uuid PRIMARY KEY NOT NULL,
	"trigger" "app_registry"."discovery_trigger" NOT NULL,
	"requested_by" text NOT NULL,
	"started_at" timestamp with time zone NOT NULL,
	"finished_at" timestamp with time zone,
	"status" "app_registry"."discovery_run_status" DEFAULT 'running' NOT NULL,
	"totals" jsonb DEFAULT '{"linesRead":0,"sightings":0,"appsMatched":0,"newCandidates":0,"flagged":0,"errors":0}'::jsonb NOT NULL,
	"sources" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"error" text
);
--> statement-breakpoint
ALTER TABLE "app_registry"."candidate_ownership_tasks" ADD CONSTRAINT "candidate_ownership_tasks_candidate_fk" FOREIGN KEY ("candidate_id") REFERENCES "app_registry"."discovery_candidates"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "candidate_ownership_tasks_open_key" ON "app_registry"."candidate_ownership_tasks" USING btree ("candidate_id") WHERE status = 'open';--> statement-breakpoint
CREATE INDEX "candidate_ownership_tasks_status_idx" ON "app_registry"."candidate_ownership_tasks" USING btree ("status","opened_at");--> statement-breakpoint
CREATE UNIQUE INDEX "discovery_candidates_kind_key" ON "app_registry"."discovery_candidates" USING btree ("kind","key");--> statement-breakpoint
CREATE INDEX "discovery_candidates_state_seen_idx" ON "app_registry"."discovery_candidates" USING btree ("state","last_seen_at","id");--> statement-breakpoint
CREATE INDEX "discovery_candidates_unflagged_idx" ON "app_registry"."discovery_candidates" USING btree ("created_at") WHERE state = 'open' and flagged_at is null;--> statement-breakpoint
CREATE INDEX "discovery_runs_started_idx" ON "app_registry"."discovery_runs" USING btree ("started_at","id");