-- Rotation: the old token keeps working until revoke_at, then is revoked automatically.
ALTER TABLE service_tokens ADD COLUMN revoke_at TEXT;
ALTER TABLE service_tokens ADD COLUMN rotated_from_id INTEGER REFERENCES service_tokens (id);
CREATE INDEX service_tokens_revoke_at ON service_tokens (revoke_at) WHERE revoke_at IS NOT NULL AND state = 1;
