ALTER TABLE "escalation"."sessions" ADD COLUMN "access_token" text;--> statement-breakpoint
ALTER TABLE "escalation"."sessions" ADD COLUMN "access_token_expires_at" timestamp with time zone;