CREATE TABLE "escalation"."sessions" (
	"id_hash" text PRIMARY KEY NOT NULL,
	"subject" text NOT NULL,
	"name" text,
	"email" text,
	"roles" text[] NOT NULL,
	"csrf" text NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"idle_expires_at" timestamp with time zone NOT NULL,
	"roles_checked_at" timestamp with time zone NOT NULL,
	"refresh_token" text
);
--> statement-breakpoint
CREATE INDEX "sessions_subject_idx" ON "escalation"."sessions" USING btree ("subject");--> statement-breakpoint
CREATE INDEX "sessions_expires_at_idx" ON "escalation"."sessions" USING btree ("expires_at");--> statement-breakpoint
CREATE INDEX "sessions_idle_expires_at_idx" ON "escalation"."sessions" USING btree ("idle_expires_at");