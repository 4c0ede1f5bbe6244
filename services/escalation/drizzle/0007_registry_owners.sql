CREATE TABLE "escalation"."app_registry_changes" (
	"change_id" uuid PRIMARY KEY NOT NULL,
	"app_id" text NOT NULL,
	"occurred_at" timestamp with time zone NOT NULL,
	"recorded_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "escalation"."registry_owners" (
	"app_id" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"owner_person" jsonb,
	"team" jsonb NOT NULL,
	"state" text NOT NULL,
	"tier" text,
	"change_id" uuid NOT NULL,
	"occurred_at" timestamp with time zone NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE INDEX "registry_owners_name_idx" ON "escalation"."registry_owners" USING btree ("name");