-- The client address of a token's last recorded use, written with `last_used_at` by the batched
-- usage flush (text: an IPv4 or IPv6 address as the node saw it after its trusted proxies).
ALTER TABLE service_tokens ADD COLUMN last_used_ip TEXT;
ALTER TABLE personal_tokens ADD COLUMN last_used_ip TEXT;
