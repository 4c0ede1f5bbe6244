CREATE TYPE "app_registry"."cost_format" AS ENUM('focus', 'cur');--> statement-breakpoint
CREATE TYPE "app_registry"."quota_request_status" AS ENUM('pending', 'approved', 'rejected');--> statement-breakpoint
CREATE TYPE "app_registry"."quota_scope" AS ENUM('team', 'owner', 'environment');--> statement-breakpoint
CREATE TABLE "app_registry"."cost_anomalies" (
	"id" uuid PRIMARY KEY NOT NULL,
	"app_id" text NOT NULL,
	"day" date NOT NULL,
	"currency" text NOT NULL,
	"cost" numeric(24, 9) NOT NULL,
	"median" numeric(24, 9) NOT NULL,
	"mad" numeric(24, 9) NOT NULL,
	"score" double precision NOT NULL,
	"detected_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "app_registry"."cost_imports" (
	"id" uuid PRIMARY KEY NOT NULL,
	"at" timestamp with time zone NOT NULL,
	"actor_subject" text NOT NULL,
	"actor_name" text,
	"format" "app_registry"."cost_format" NOT NULL,
	"file_name" text,
	"rows" integer NOT NULL,
	"currency" text NOT NULL,
	"total" numeric(24, 9) NOT NULL,
	"untagged" numeric(24, 9) NOT NULL,
	"first_day" date NOT NULL,
	"last_day" date NOT NULL,
	"accounts" text[] DEFAULT '{}'::text[] NOT NULL,
	"daily_rows" integer NOT NULL,
	"replaced_rows" integer DEFAULT 0 NOT NULL
);
--> statement-breakpoint
CREATE TABLE "app_registry"."cost_quota_alerts" (
	"quota_id" uuid NOT NULL,
	"month" text NOT NULL,
	"level" integer NOT NULL,
	"at" timestamp with time zone NOT NULL,
	"used" numeric(24, 9) NOT NULL,
	CONSTRAINT "cost_quota_alerts_quota_id_month_level_pk" PRIMARY KEY("quota_id","month","level")
);
--> statement-breakpoint
CREATE TABLE "app_registry"."cost_quota_requests" (
	"id" uuid PRIMARY KEY NOT NULL,
	"quota_id" uuid NOT NULL,
	"amount" numeric(24, 9) NOT NULL,
	"justification" text NOT NULL,
	"status" "app_registry"."quota_request_status" DEFAULT 'pending' NOT NULL,
	"requested_by" text NOT NULL,
	"requested_by_name" text,
	"requested_at" timestamp with time zone NOT NULL,
	"decided_by" text,
	"decided_at" timestamp with time zone,
	"comment" text
);
--> statement-breakpoint
CREATE TABLE "app_registry"."cost_quotas" (
	"id" uuid PRIMARY KEY NOT NULL,
	"scope" "app_registry"."quota_scope" NOT NULL,
	"subject" text NOT NULL,
	"monthly_amount" numeric(24, 9) NOT NULL,
	"currency" text NOT NULL,
	"created_by" text NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"updated_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "app_registry"."daily_costs" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"import_id" uuid NOT NULL,
	"day" date NOT NULL,
	"app_id" text,
	"resource_id" text,
	"team" text,
	"environment" text,
	"service_category" text NOT NULL,
	"currency" text NOT NULL,
	"account" text NOT NULL,
	"cost" numeric(24, 9) NOT NULL,
	"lines" integer NOT NULL
);
--> statement-breakpoint
ALTER TABLE "app_registry"."cost_quota_alerts" ADD CONSTRAINT "cost_quota_alerts_quota_id_cost_quotas_id_fk" FOREIGN KEY ("quota_id") REFERENCES "app_registry"."cost_quotas"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "app_registry"."cost_quota_requests" ADD CONSTRAINT "cost_quota_requests_quota_id_cost_quotas_id_fk" FOREIGN KEY ("quota_id") REFERENCES "app_registry"."cost_quotas"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "cost_anomalies_app_day_uq" ON "app_registry"."cost_anomalies" USING btree ("app_id","day","currency");--> statement-breakpoint
CREATE INDEX "cost_anomalies_day_idx" ON "app_registry"."cost_anomalies" USING btree ("day");--> statement-breakpoint
CREATE INDEX "cost_imports_at_idx" ON "app_registry"."cost_imports" USING btree ("at");--> statement-breakpoint
CREATE INDEX "cost_quota_requests_status_idx" ON "app_registry"."cost_quota_requests" USING btree ("status","requested_at");--> statement-breakpoint
CREATE UNIQUE INDEX "cost_quotas_scope_subject_uq" ON "app_registry"."cost_quotas" USING btree ("scope","subject","currency");--> statement-breakpoint
CREATE INDEX "daily_costs_day_idx" ON "app_registry"."daily_costs" USING btree ("day");--> statement-breakpoint
CREATE INDEX "daily_costs_app_day_idx" ON "app_registry"."daily_costs" USING btree ("app_id","day");--> statement-breakpoint
CREATE INDEX "daily_costs_team_day_idx" ON "app_registry"."daily_costs" USING btree ("team","day");--> statement-breakpoint
CREATE INDEX "daily_costs_account_day_idx" ON "app_registry"."daily_costs" USING btree ("account","day");