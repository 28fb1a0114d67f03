-- Every statement that appends to the change feed signals the listening nodes, from the
-- database itself: one round trip less for every write than a NOTIFY sent by the node, and no
-- way for a write to append a change and forget to signal it. PostgreSQL delivers the
-- notification at commit (never for a rolled-back write), once however many changes the
-- transaction appended.
CREATE FUNCTION latchkey_changes_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NOTIFY latchkey_changes;
    RETURN NULL;
END
$$;

CREATE TRIGGER changes_notify AFTER INSERT ON changes
    FOR EACH STATEMENT EXECUTE FUNCTION latchkey_changes_notify();
