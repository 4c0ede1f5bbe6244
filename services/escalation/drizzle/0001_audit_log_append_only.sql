-- The audit log is append-only: rows can be inserted and read, never changed or removed.
CREATE FUNCTION "escalation"."audit_log_is_append_only"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'escalation.audit_log is append-only (% refused)', TG_OP USING ERRCODE = 'insufficient_privilege';
END;
$$;
--> statement-breakpoint
CREATE TRIGGER "audit_log_append_only" BEFORE UPDATE OR DELETE ON "escalation"."audit_log"
  FOR EACH ROW EXECUTE FUNCTION "escalation"."audit_log_is_append_only"();
--> statement-breakpoint
CREATE TRIGGER "audit_log_no_truncate" BEFORE TRUNCATE ON "escalation"."audit_log"
  FOR EACH STATEMENT EXECUTE FUNCTION "escalation"."audit_log_is_append_only"();
