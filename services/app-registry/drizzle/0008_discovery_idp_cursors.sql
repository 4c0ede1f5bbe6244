CREATE TABLE "app_registry"."discovery_idp_cursors" (
	"provider" text PRIMARY KEY NOT NULL,
	"cursor" jsonb NOT NULL,
	"updated_at" timestamp with time zone NOT NULL
);