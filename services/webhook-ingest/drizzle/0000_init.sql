CREATE SCHEMA "ingest";
--> statement-breakpoint
CREATE TYPE "ingest"."provider" AS ENUM('pagerduty', 'opsgenie', 'alertmanager', 'generic');--> statement-breakpoint
CREATE TABLE "ingest"."ignored_events" (
	"id" text PRIMARY KEY NOT NULL,
	"provider" "ingest"."provider" NOT NULL,
	"event_type" text NOT NULL,
	"reason" text NOT NULL,
	"payload" jsonb NOT NULL,
	"received_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "ingest"."received_events" (
	"event_id" text PRIMARY KEY NOT NULL,
	"provider" "ingest"."provider" NOT NULL,
	"incident_id" text NOT NULL,
	"received_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE INDEX "ignored_events_received_at_idx" ON "ingest"."ignored_events" USING btree ("received_at");--> statement-breakpoint
CREATE INDEX "received_events_received_at_idx" ON "ingest"."received_events" USING btree ("received_at");