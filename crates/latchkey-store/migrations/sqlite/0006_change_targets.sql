-- A change-feed row names exactly what changed, so nodes evict that and no more: a token (by its
-- digest, as before), a project, or a user; rows naming none of them are account-wide.
ALTER TABLE changes ADD COLUMN project_id INTEGER;
ALTER TABLE changes ADD COLUMN user_id INTEGER;
