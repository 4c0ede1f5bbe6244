CREATE SCHEMA "app_registry";
--> statement-breakpoint
CREATE TABLE "app_registry"."applied_events" (
	"event_id" text PRIMARY KEY NOT NULL,
	"applied_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "app_registry"."service_activity" (
	"service" text PRIMARY KEY NOT NULL,
	"incidents" integer DEFAULT 0 NOT NULL,
	"last_event_at" timestamp with time zone NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
