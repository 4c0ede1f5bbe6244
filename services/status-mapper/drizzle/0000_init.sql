CREATE SCHEMA "status_mapper";
--> statement-breakpoint
CREATE TYPE "status_mapper"."component_status" AS ENUM('operational', 'under_maintenance', 'degraded_performance', 'partial_outage', 'major_outage', 'unknown');--> statement-breakpoint
CREATE TYPE "status_mapper"."observation_source" AS ENUM('poll', 'webhook', 'aws');--> statement-breakpoint
CREATE TABLE "status_mapper"."component_changes" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"change_id" uuid NOT NULL,
	"component_key" text NOT NULL,
	"page_id" text NOT NULL,
	"from_status" "status_mapper"."component_status",
	"to_status" "status_mapper"."component_status" NOT NULL,
	"provider_status" text,
	"stale_since" timestamp with time zone,
	"reason" text,
	"source" "status_mapper"."observation_source" NOT NULL,
	"observed_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "status_mapper"."components" (
	"page_id" text NOT NULL,
	"component_id" text NOT NULL,
	"key" text NOT NULL,
	"name" text NOT NULL,
	"group_id" text,
	"group_name" text,
	"status" "status_mapper"."component_status" NOT NULL,
	"status_since" timestamp with time zone NOT NULL,
	"reported_status" "status_mapper"."component_status" NOT NULL,
	"provider_status" text,
	"reported_at" timestamp with time zone NOT NULL,
	"source" "status_mapper"."observation_source" NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "components_pkey" PRIMARY KEY("page_id","component_id")
);
--> statement-breakpoint
CREATE TABLE "status_mapper"."pages" (
	"id" text PRIMARY KEY NOT NULL,
	"provider" text NOT NULL,
	"url" text NOT NULL,
	"interval_seconds" integer NOT NULL,
	"jitter_seconds" integer NOT NULL,
	"provider_page_id" text,
	"page_name" text,
	"indicator" text,
	"next_due_at" timestamp with time zone DEFAULT now() NOT NULL,
	"claimed_until" timestamp with time zone,
	"etag" text,
	"last_modified" text,
	"last_polled_at" timestamp with time zone,
	"last_success_at" timestamp with time zone,
	"consecutive_failures" integer DEFAULT 0 NOT NULL,
	"failing_since" timestamp with time zone,
	"last_error" text,
	"stale_since" timestamp with time zone,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "status_mapper"."provider_incidents" (
	"page_id" text NOT NULL,
	"incident_id" text NOT NULL,
	"name" text NOT NULL,
	"status" text NOT NULL,
	"impact" text NOT NULL,
	"shortlink" text,
	"latest_update" text,
	"component_ids" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"provider_updated_at" timestamp with time zone,
	"first_seen_at" timestamp with time zone DEFAULT now() NOT NULL,
	"resolved_at" timestamp with time zone,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "provider_incidents_pkey" PRIMARY KEY("page_id","incident_id")
);
--> statement-breakpoint
ALTER TABLE "status_mapper"."components" ADD CONSTRAINT "components_page_id_fkey" FOREIGN KEY ("page_id") REFERENCES "status_mapper"."pages"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "status_mapper"."provider_incidents" ADD CONSTRAINT "provider_incidents_page_id_fkey" FOREIGN KEY ("page_id") REFERENCES "status_mapper"."pages"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "component_changes_change_id_key" ON "status_mapper"."component_changes" USING btree ("change_id");--> statement-breakpoint
CREATE INDEX "component_changes_component_key_idx" ON "status_mapper"."component_changes" USING btree ("component_key","id");--> statement-breakpoint
CREATE UNIQUE INDEX "components_key_key" ON "status_mapper"."components" USING btree ("key");--> statement-breakpoint
CREATE INDEX "pages_next_due_at_idx" ON "status_mapper"."pages" USING btree ("next_due_at");--> statement-breakpoint
CREATE INDEX "pages_provider_page_id_idx" ON "status_mapper"."pages" USING btree ("provider_page_id");--> statement-breakpoint
CREATE INDEX "provider_incidents_open_idx" ON "status_mapper"."provider_incidents" USING btree ("page_id") WHERE resolved_at is null;