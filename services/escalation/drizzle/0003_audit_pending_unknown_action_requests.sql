ALTER TYPE "escalation"."audit_outcome" ADD VALUE 'pending';--> statement-breakpoint
ALTER TYPE "escalation"."audit_outcome" ADD VALUE 'unknown';--> statement-breakpoint
CREATE TABLE "escalation"."action_requests" (
	"actor_subject" text NOT NULL,
	"incident_id" text NOT NULL,
	"idempotency_key" text NOT NULL,
	"action_id" uuid NOT NULL,
	"request_hash" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"completed_at" timestamp with time zone,
	"response_status" integer,
	"response_body" jsonb,
	CONSTRAINT "action_requests_pkey" PRIMARY KEY("actor_subject","incident_id","idempotency_key")
);
--> statement-breakpoint
ALTER TABLE "escalation"."audit_log" ADD COLUMN "action_id" uuid;--> statement-breakpoint
CREATE INDEX "action_requests_created_idx" ON "escalation"."action_requests" USING btree ("created_at");--> statement-breakpoint
CREATE INDEX "audit_log_action_idx" ON "escalation"."audit_log" USING btree ("action_id");