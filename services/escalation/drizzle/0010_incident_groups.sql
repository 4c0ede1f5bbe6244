CREATE TABLE "escalation"."incident_groups" (
	"id" text PRIMARY KEY NOT NULL,
	"key" text,
	"first_at" timestamp with time zone NOT NULL,
	"first_incident_id" text NOT NULL,
	"last_at" timestamp with time zone NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "escalation"."incidents" ADD COLUMN "group_id" text;--> statement-breakpoint
ALTER TABLE "escalation"."incidents" ADD COLUMN "group_pinned" boolean DEFAULT false NOT NULL;--> statement-breakpoint
CREATE INDEX "incident_groups_key_idx" ON "escalation"."incident_groups" USING btree ("key","first_at");--> statement-breakpoint
CREATE INDEX "incidents_group_idx" ON "escalation"."incidents" USING btree ("group_id");