-- A worker marks an endpoint busy while it sends it a delivery, with a conditional update
-- only one worker wins, so that an endpoint gets one delivery at a time across processes.
ALTER TABLE webhook_endpoints ADD COLUMN busy_until BIGINT;
