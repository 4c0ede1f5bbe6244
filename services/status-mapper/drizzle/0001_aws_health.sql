CREATE TYPE "status_mapper"."source_kind" AS ENUM('statuspage', 'aws-health');--> statement-breakpoint
ALTER TABLE "status_mapper"."pages" ALTER COLUMN "url" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "status_mapper"."pages" ALTER COLUMN "interval_seconds" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "status_mapper"."pages" ADD COLUMN "kind" "status_mapper"."source_kind" DEFAULT 'statuspage' NOT NULL;--> statement-breakpoint
ALTER TABLE "status_mapper"."provider_incidents" ADD COLUMN "external_ref" text;--> statement-breakpoint
ALTER TABLE "status_mapper"."provider_incidents" ADD COLUMN "starts_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "status_mapper"."provider_incidents" ADD COLUMN "ends_at" timestamp with time zone;