CREATE SEQUENCE "escalation"."incident_number_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1;--> statement-breakpoint
ALTER TABLE "escalation"."incidents" ADD COLUMN "number" bigint;--> statement-breakpoint
-- Incidents stored before numbers existed: numbered in the order they were first seen (then by id), oldest #1.
UPDATE "escalation"."incidents" AS i SET "number" = o."n"
FROM (SELECT "id", row_number() OVER (ORDER BY "first_seen_at", "created_at", "id") AS "n" FROM "escalation"."incidents") AS o
WHERE i."id" = o."id";--> statement-breakpoint
SELECT setval('"escalation"."incident_number_seq"', COALESCE((SELECT max("number") FROM "escalation"."incidents"), 0) + 1, false);--> statement-breakpoint
ALTER TABLE "escalation"."incidents" ALTER COLUMN "number" SET DEFAULT nextval('escalation.incident_number_seq');--> statement-breakpoint
ALTER TABLE "escalation"."incidents" ALTER COLUMN "number" SET NOT NULL;--> statement-breakpoint
CREATE UNIQUE INDEX "incidents_number_idx" ON "escalation"."incidents" USING btree ("number");
