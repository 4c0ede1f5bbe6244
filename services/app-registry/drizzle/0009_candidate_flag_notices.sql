ALTER TABLE "app_registry"."notifications" ALTER COLUMN "app_id" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "app_registry"."notifications" ADD COLUMN "candidate_id" uuid;--> statement-breakpoint
ALTER TABLE "app_registry"."notifications" ADD CONSTRAINT "notifications_candidate_fk" FOREIGN KEY ("candidate_id") REFERENCES "app_registry"."discovery_candidates"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "app_registry"."notifications" ADD CONSTRAINT "notifications_subject_check" CHECK ((app_id is null) <> (candidate_id is null));