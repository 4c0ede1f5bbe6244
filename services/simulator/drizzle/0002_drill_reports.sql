CREATE TABLE "simulator"."run_checklist" (
	"run_id" uuid NOT NULL,
	"item" integer NOT NULL,
	"done" boolean NOT NULL,
	"note" text,
	"changed_at" timestamp with time zone DEFAULT now() NOT NULL,
	"changed_by_subject" text NOT NULL,
	"changed_by_name" text,
	CONSTRAINT "run_checklist_pkey" PRIMARY KEY("run_id","item"),
	CONSTRAINT "run_checklist_item" CHECK ("simulator"."run_checklist"."item" >= 0)
);
--> statement-breakpoint
CREATE TABLE "simulator"."run_incident_events" (
	"event_id" text PRIMARY KEY NOT NULL,
	"run_id" uuid NOT NULL,
	"incident_id" text NOT NULL,
	"kind" text NOT NULL,
	"provider_event_type" text NOT NULL,
	"provider" text NOT NULL,
	"dedup_key" text NOT NULL,
	"occurred_at" timestamp with time zone NOT NULL,
	"actor_type" text,
	"actor_name" text,
	"title" text,
	"service" text,
	"severity" text,
	"note" text,
	"escalation_level" integer,
	"received_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "simulator"."run_checklist" ADD CONSTRAINT "run_checklist_run_fkey" FOREIGN KEY ("run_id") REFERENCES "simulator"."runs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "simulator"."run_incident_events" ADD CONSTRAINT "run_incident_events_run_fkey" FOREIGN KEY ("run_id") REFERENCES "simulator"."runs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "run_incident_events_run_idx" ON "simulator"."run_incident_events" USING btree ("run_id","occurred_at");