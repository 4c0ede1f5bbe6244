CREATE TYPE "app_registry"."ownership_task_status" AS ENUM('open', 'resolved', 'cancelled');--> statement-breakpoint
CREATE TABLE "app_registry"."governance_snapshots" (
	"day" text PRIMARY KEY NOT NULL,
	"taken_at" timestamp with time zone NOT NULL,
	"counts" jsonb NOT NULL
);
--> statement-breakpoint
CREATE TABLE "app_registry"."identity_events" (
	"event_id" text PRIMARY KEY NOT NULL,
	"source" text NOT NULL,
	"kind" text NOT NULL,
	"subject" text NOT NULL,
	"email" text,
	"display_name" text,
	"occurred_at" timestamp with time zone NOT NULL,
	"received_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "app_registry"."ownership_tasks" (
	"id" uuid PRIMARY KEY NOT NULL,
	"app_id" text NOT NULL,
	"status" "app_registry"."ownership_task_status" DEFAULT 'open' NOT NULL,
	"reason" text NOT NULL,
	"detail" text NOT NULL,
	"previous_owner" jsonb,
	"candidates" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"opened_at" timestamp with time zone NOT NULL,
	"opened_by" text NOT NULL,
	"resolved_at" timestamp with time zone,
	"resolved_by" text,
	"new_owner" jsonb
);
--> statement-breakpoint
ALTER TABLE "app_registry"."ownership_tasks" ADD CONSTRAINT "ownership_tasks_app_fk" FOREIGN KEY ("app_id") REFERENCES "app_registry"."apps"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "identity_events_subject_idx" ON "app_registry"."identity_events" USING btree ("subject");--> statement-breakpoint
CREATE INDEX "identity_events_email_idx" ON "app_registry"."identity_events" USING btree ("email");--> statement-breakpoint
CREATE UNIQUE INDEX "ownership_tasks_open_key" ON "app_registry"."ownership_tasks" USING btree ("app_id") WHERE status = 'open';--> statement-breakpoint
CREATE INDEX "ownership_tasks_status_idx" ON "app_registry"."ownership_tasks" USING btree ("status","opened_at");--> statement-breakpoint
-- Every app has an owner or an open ownership task: apps registered without an owner before this
-- migration get theirs now (candidates are proposed when an owner leaves; none are known here).
INSERT INTO "app_registry"."ownership_tasks" ("id", "app_id", "status", "reason", "detail", "opened_at", "opened_by")
SELECT gen_random_uuid(), "id", 'open', 'no_owner', 'registered without an owner', now(), 'migration'
FROM "app_registry"."apps" WHERE "owner_name" IS NULL AND "state" <> 'purged';
