CREATE TABLE "escalation"."incident_provider_notes" (
	"incident_id" text NOT NULL,
	"change_id" uuid NOT NULL,
	"at" timestamp with time zone NOT NULL,
	"kind" text NOT NULL,
	"component_key" text NOT NULL,
	"provider" text NOT NULL,
	"component_name" text NOT NULL,
	"group_name" text,
	"from_status" text,
	"to_status" text NOT NULL,
	"since" timestamp with time zone NOT NULL,
	"stale" jsonb,
	"recorded_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "incident_provider_notes_pkey" PRIMARY KEY("incident_id","change_id")
);
--> statement-breakpoint
CREATE TABLE "escalation"."provider_components" (
	"component_key" text PRIMARY KEY NOT NULL,
	"provider" text NOT NULL,
	"page_id" text NOT NULL,
	"component_name" text NOT NULL,
	"group_name" text,
	"status" text NOT NULL,
	"provider_status" text,
	"since" timestamp with time zone NOT NULL,
	"stale" jsonb,
	"incidents" jsonb NOT NULL,
	"services" text[] NOT NULL,
	"change_id" uuid NOT NULL,
	"observed_at" timestamp with time zone NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "escalation"."provider_status_events" (
	"change_id" uuid PRIMARY KEY NOT NULL,
	"component_key" text NOT NULL,
	"observed_at" timestamp with time zone NOT NULL,
	"applied" boolean NOT NULL,
	"envelope" jsonb NOT NULL,
	"recorded_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE INDEX "incident_provider_notes_incident_at_idx" ON "escalation"."incident_provider_notes" USING btree ("incident_id","at");--> statement-breakpoint
CREATE INDEX "provider_components_services_idx" ON "escalation"."provider_components" USING gin ("services");--> statement-breakpoint
CREATE INDEX "provider_status_events_component_idx" ON "escalation"."provider_status_events" USING btree ("component_key","observed_at");