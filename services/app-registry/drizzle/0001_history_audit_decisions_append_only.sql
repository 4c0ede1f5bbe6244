-- The history, the audit log and the decisions are append-only: rows can be inserted and read,
-- never changed or removed. The runtime role may only insert and select (runtimePrivileges in
-- src/service.ts) and, not owning the tables, cannot disable these triggers (ADR 0011).
CREATE FUNCTION "app_registry"."append_only"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'app_registry.% is append-only (% refused)', TG_TABLE_NAME, TG_OP USING ERRCODE = 'insufficient_privilege';
END;
$$;
--> statement-breakpoint
CREATE TRIGGER "app_history_append_only" BEFORE UPDATE OR DELETE ON "app_registry"."app_history"
  FOR EACH ROW EXECUTE FUNCTION "app_registry"."append_only"();
--> statement-breakpoint
CREATE TRIGGER "app_history_no_truncate" BEFORE TRUNCATE ON "app_registry"."app_history"
  FOR EACH STATEMENT EXECUTE FUNCTION "app_registry"."append_only"();
--> statement-breakpoint
CREATE TRIGGER "audit_log_append_only" BEFORE UPDATE OR DELETE ON "app_registry"."audit_log"
  FOR EACH ROW EXECUTE FUNCTION "app_registry"."append_only"();
--> statement-breakpoint
CREATE TRIGGER "audit_log_no_truncate" BEFORE TRUNCATE ON "app_registry"."audit_log"
  FOR EACH STATEMENT EXECUTE FUNCTION "app_registry"."append_only"();
--> statement-breakpoint
CREATE TRIGGER "decisions_append_only" BEFORE UPDATE OR DELETE ON "app_registry"."decisions"
  FOR EACH ROW EXECUTE FUNCTION "app_registry"."append_only"();
--> statement-breakpoint
CREATE TRIGGER "decisions_no_truncate" BEFORE TRUNCATE ON "app_registry"."decisions"
  FOR EACH STATEMENT EXECUTE FUNCTION "app_registry"."append_only"();
