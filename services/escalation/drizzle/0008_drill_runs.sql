CREATE TABLE "escalation"."drill_run_events" (
	"event_id" uuid PRIMARY KEY NOT NULL,
	"run_id" uuid NOT NULL,
	"kind" text NOT NULL,
	"occurred_at" timestamp with time zone NOT NULL,
	"recorded_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "escalation"."drill_runs" (
	"run_id" uuid PRIMARY KEY NOT NULL,
	"state" text NOT NULL,
	"scenario" jsonb NOT NULL,
	"team" text NOT NULL,
	"environment" text NOT NULL,
	"started_at" timestamp with time zone,
	"ended_at" timestamp with time zone,
	"expires_at" timestamp with time zone NOT NULL,
	"occurred_at" timestamp with time zone NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "escalation"."incidents" ADD COLUMN "drill_marker" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "escalation"."incidents" ADD COLUMN "drill_run_id" text;--> statement-breakpoint
ALTER TABLE "escalation"."incidents" ADD COLUMN "unverified_drill_marker" text;--> statement-breakpoint
ALTER TABLE "escalation"."incidents" ADD COLUMN "first_seen_at" timestamp with time zone DEFAULT now() NOT NULL;--> statement-breakpoint
CREATE INDEX "incidents_drill_run_idx" ON "escalation"."incidents" USING btree ("drill_run_id");--> statement-breakpoint
-- Incidents marked as drills before runs were verified: nothing registered them, so they count as real.
UPDATE "escalation"."incidents" SET "first_seen_at" = "created_at", "drill_marker" = "drill";--> statement-breakpoint
UPDATE "escalation"."incidents" SET "drill" = false, "unverified_drill_marker" = 'marked as a drill before drill runs were verified: no registered run' WHERE "drill";
