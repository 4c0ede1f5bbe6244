-- The audit log is append-only: rows can be inserted and read, never changed or removed.
CREATE FUNCTION "simulator"."audit_log_is_append_only"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'simulator.audit_log is append-only (% refused)', TG_OP USING ERRCODE = 'insufficient_privilege';
END;
$$;
--> statement-breakpoint
CREATE TRIGGER "audit_log_append_only" BEFORE UPDATE OR DELETE ON "simulator"."audit_log"
  FOR EACH ROW EXECUTE FUNCTION "simulator"."audit_log_is_append_only"();
--> statement-breakpoint
CREATE TRIGGER "audit_log_no_truncate" BEFORE TRUNCATE ON "simulator"."audit_log"
  FOR EACH STATEMENT EXECUTE FUNCTION "simulator"."audit_log_is_append_only"();
--> statement-breakpoint
-- The kill switch has exactly one row, disarmed until someone engages it.
INSERT INTO "simulator"."kill_switch" ("id", "engaged") VALUES (1, false) ON CONFLICT DO NOTHING;
