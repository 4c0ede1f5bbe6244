CREATE TYPE "simulator"."game_day_state" AS ENUM('awaiting_approval', 'active', 'paused');--> statement-breakpoint
CREATE TYPE "simulator"."occurrence_outcome" AS ENUM('started', 'skipped');--> statement-breakpoint
CREATE TABLE "simulator"."game_day_occurrences" (
	"game_day_id" uuid NOT NULL,
	"scheduled_at" timestamp with time zone NOT NULL,
	"run_id" uuid NOT NULL,
	"outcome" "simulator"."occurrence_outcome",
	"reason" text,
	"recorded_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "game_day_occurrences_pkey" PRIMARY KEY("game_day_id","scheduled_at")
);
--> statement-breakpoint
CREATE TABLE "simulator"."game_days" (
	"id" uuid PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"scenario_id" text NOT NULL,
	"scenario_version" integer NOT NULL,
	"environment" "simulator"."environment" NOT NULL,
	"targets" jsonb,
	"production_reason" text,
	"max_duration_minutes" integer NOT NULL,
	"cron" text NOT NULL,
	"timezone" text NOT NULL,
	"state" "simulator"."game_day_state" NOT NULL,
	"severity" "simulator"."severity" NOT NULL,
	"approval_reasons" jsonb NOT NULL,
	"requested_by_subject" text NOT NULL,
	"requested_by_name" text,
	"approved_by_subject" text,
	"approved_by_name" text,
	"approved_at" timestamp with time zone,
	"next_occurrence_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "game_days_max_duration" CHECK ("simulator"."game_days"."max_duration_minutes" between 1 and 240)
);
--> statement-breakpoint
ALTER TABLE "simulator"."game_day_occurrences" ADD CONSTRAINT "game_day_occurrences_game_day_fkey" FOREIGN KEY ("game_day_id") REFERENCES "simulator"."game_days"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "simulator"."game_days" ADD CONSTRAINT "game_days_scenario_fkey" FOREIGN KEY ("scenario_id","scenario_version") REFERENCES "simulator"."scenarios"("id","version") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "game_days_next_idx" ON "simulator"."game_days" USING btree ("state","next_occurrence_at");