-- Severity names become words (docs/adr/0008-severity-words-and-provider-priority.md). The
-- values are renamed in place, not dropped and recreated as drizzle-kit generates it, so that
-- stored incidents keep their severity (each old name meant the word it becomes), the label
-- order (critical sorts first) and the index.
ALTER TYPE "escalation"."severity" RENAME VALUE 'p0' TO 'critical';--> statement-breakpoint
ALTER TYPE "escalation"."severity" RENAME VALUE 'p1' TO 'high';--> statement-breakpoint
ALTER TYPE "escalation"."severity" RENAME VALUE 'p2' TO 'medium';--> statement-breakpoint
ALTER TYPE "escalation"."severity" RENAME VALUE 'p3' TO 'low';--> statement-breakpoint
ALTER TYPE "escalation"."severity" RENAME VALUE 'p4' TO 'info';--> statement-breakpoint
ALTER TABLE "escalation"."incidents" ADD COLUMN "provider_severity" text;--> statement-breakpoint
ALTER TABLE "escalation"."incidents" ADD COLUMN "assignees" jsonb DEFAULT '[]'::jsonb NOT NULL;
