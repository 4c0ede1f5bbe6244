CREATE SCHEMA "escalation";
--> statement-breakpoint
CREATE TYPE "escalation"."audit_outcome" AS ENUM('succeeded', 'failed', 'denied');--> statement-breakpoint
CREATE TYPE "escalation"."provider" AS ENUM('pagerduty', 'opsgenie', 'alertmanager', 'generic');--> statement-breakpoint
CREATE TYPE "escalation"."severity" AS ENUM('p0', 'p1', 'p2', 'p3', 'p4');--> statement-breakpoint
CREATE TYPE "escalation"."incident_status" AS ENUM('triggered', 'acknowledged', 'resolved');--> statement-breakpoint
CREATE TYPE "escalation"."urgency" AS ENUM('high', 'low');--> statement-breakpoint
CREATE SEQUENCE "escalation"."incident_change_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1;--> statement-breakpoint
CREATE TABLE "escalation"."audit_log" (
	"id" uuid PRIMARY KEY NOT NULL,
	"at" timestamp with time zone DEFAULT now() NOT NULL,
	"actor_subject" text NOT NULL,
	"actor_name" text,
	"actor_email" text,
	"action" text NOT NULL,
	"incident_id" text,
	"outcome" "escalation"."audit_outcome" NOT NULL,
	"provider" text,
	"provider_status" integer,
	"provider_request_id" text,
	"detail" text NOT NULL,
	"request_id" text NOT NULL,
	"request" jsonb
);
--> statement-breakpoint
CREATE TABLE "escalation"."incident_events" (
	"event_id" text PRIMARY KEY NOT NULL,
	"incident_id" text NOT NULL,
	"kind" text NOT NULL,
	"provider_event_type" text NOT NULL,
	"occurred_at" timestamp with time zone NOT NULL,
	"actor" jsonb,
	"note" text,
	"drill" boolean NOT NULL,
	"envelope" jsonb NOT NULL,
	"recorded_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "escalation"."incidents" (
	"id" text PRIMARY KEY NOT NULL,
	"provider" "escalation"."provider" NOT NULL,
	"provider_id" text NOT NULL,
	"dedup_key" text NOT NULL,
	"title" text NOT NULL,
	"service" text NOT NULL,
	"severity" "escalation"."severity" NOT NULL,
	"urgency" "escalation"."urgency" NOT NULL,
	"status" "escalation"."incident_status" NOT NULL,
	"labels" jsonb NOT NULL,
	"links" jsonb NOT NULL,
	"provider_url" text,
	"drill" boolean DEFAULT false NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"updated_at" timestamp with time zone NOT NULL,
	"snapshot_at" timestamp with time zone NOT NULL,
	"status_at" timestamp with time zone NOT NULL,
	"acknowledged_at" timestamp with time zone,
	"resolved_at" timestamp with time zone,
	"triggered_at" timestamp with time zone,
	"last_event_kind" text NOT NULL,
	"change_seq" bigint NOT NULL,
	"recorded_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE INDEX "audit_log_at_idx" ON "escalation"."audit_log" USING btree ("at");--> statement-breakpoint
CREATE INDEX "audit_log_incident_idx" ON "escalation"."audit_log" USING btree ("incident_id","at");--> statement-breakpoint
CREATE INDEX "audit_log_actor_idx" ON "escalation"."audit_log" USING btree ("actor_subject","at");--> statement-breakpoint
CREATE INDEX "incident_events_incident_occurred_idx" ON "escalation"."incident_events" USING btree ("incident_id","occurred_at");--> statement-breakpoint
CREATE INDEX "incidents_status_updated_idx" ON "escalation"."incidents" USING btree ("status","updated_at");--> statement-breakpoint
CREATE INDEX "incidents_service_idx" ON "escalation"."incidents" USING btree ("service");--> statement-breakpoint
CREATE INDEX "incidents_severity_idx" ON "escalation"."incidents" USING btree ("severity");--> statement-breakpoint
CREATE INDEX "incidents_updated_id_idx" ON "escalation"."incidents" USING btree ("updated_at","id");--> statement-breakpoint
CREATE INDEX "incidents_change_seq_idx" ON "escalation"."incidents" USING btree ("change_seq");