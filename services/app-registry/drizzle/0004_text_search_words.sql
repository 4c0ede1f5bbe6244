CREATE TABLE "app_registry"."app_words" (
	"word" text NOT NULL,
	"name" text NOT NULL,
	"app_id" text NOT NULL
);
--> statement-breakpoint
CREATE INDEX "app_words_word_idx" ON "app_registry"."app_words" USING btree (word COLLATE "C","name","app_id");--> statement-breakpoint
-- app_words is written only here, by statement triggers on apps, in the writing transaction, so
-- that it always holds exactly the words of each app's search vector (src/db/schema.ts). A word is
-- a lexeme up to its first ASCII character that is neither a letter nor a digit: a prefix typed in
-- the list (letters and digits only) begins the lexeme exactly when it begins the word.
CREATE FUNCTION "app_registry"."app_words_of"(search tsvector) RETURNS SETOF text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT DISTINCT w FROM unnest(tsvector_to_array(search)) AS l, substring(l FROM '^[^ -/:-@[-`{-~]+') AS w
  WHERE w IS NOT NULL
$$;
--> statement-breakpoint
CREATE FUNCTION "app_registry"."app_words_added"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO app_registry.app_words (word, name, app_id)
    SELECT w, n.name, n.id FROM new_apps AS n, app_registry.app_words_of(n.search) AS w;
  RETURN NULL;
END;
$$;
--> statement-breakpoint
CREATE FUNCTION "app_registry"."app_words_changed"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- Most updates (lifecycle, decisions, activity) change neither the name nor the search vector:
  -- those rows are left alone.
  DELETE FROM app_registry.app_words AS aw
    USING old_apps AS o JOIN new_apps AS n ON n.id = o.id, app_registry.app_words_of(o.search) AS w
    WHERE (o.name, o.search) IS DISTINCT FROM (n.name, n.search)
      AND aw.word COLLATE "C" = w AND aw.name = o.name AND aw.app_id = o.id;
  INSERT INTO app_registry.app_words (word, name, app_id)
    SELECT w, n.name, n.id
    FROM old_apps AS o JOIN new_apps AS n ON n.id = o.id, app_registry.app_words_of(n.search) AS w
    WHERE (o.name, o.search) IS DISTINCT FROM (n.name, n.search);
  RETURN NULL;
END;
$$;
--> statement-breakpoint
CREATE FUNCTION "app_registry"."app_words_removed"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM app_registry.app_words AS aw
    USING old_apps AS o, app_registry.app_words_of(o.search) AS w
    WHERE aw.word COLLATE "C" = w AND aw.name = o.name AND aw.app_id = o.id;
  RETURN NULL;
END;
$$;
--> statement-breakpoint
CREATE FUNCTION "app_registry"."app_words_truncated"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  TRUNCATE app_registry.app_words;
  RETURN NULL;
END;
$$;
--> statement-breakpoint
CREATE TRIGGER "app_words_added" AFTER INSERT ON "app_registry"."apps"
  REFERENCING NEW TABLE AS new_apps FOR EACH STATEMENT EXECUTE FUNCTION "app_registry"."app_words_added"();
--> statement-breakpoint
CREATE TRIGGER "app_words_changed" AFTER UPDATE ON "app_registry"."apps"
  REFERENCING OLD TABLE AS old_apps NEW TABLE AS new_apps FOR EACH STATEMENT EXECUTE FUNCTION "app_registry"."app_words_changed"();
--> statement-breakpoint
CREATE TRIGGER "app_words_removed" AFTER DELETE ON "app_registry"."apps"
  REFERENCING OLD TABLE AS old_apps FOR EACH STATEMENT EXECUTE FUNCTION "app_registry"."app_words_removed"();
--> statement-breakpoint
CREATE TRIGGER "app_words_truncated" AFTER TRUNCATE ON "app_registry"."apps"
  FOR EACH STATEMENT EXECUTE FUNCTION "app_registry"."app_words_truncated"();
--> statement-breakpoint
INSERT INTO "app_registry"."app_words" (word, name, app_id)
  SELECT w, a.name, a.id FROM "app_registry"."apps" AS a, "app_registry"."app_words_of"(a.search) AS w;
