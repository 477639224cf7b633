-- Per-customer discount limits count a customer by account and by the order's email
-- (lower-cased), so that signing in or out does not make a second first order. Migration
-- 0009 kept one `customer_key` (the customer's id, else a guest's lower-cased email);
-- each use now keeps both: the account when it had one, and the email its payment was
-- made with.
DROP INDEX discount_uses_customer;
ALTER TABLE discount_uses ADD COLUMN customer_id TEXT;
ALTER TABLE discount_uses ADD COLUMN email TEXT NOT NULL DEFAULT '';
UPDATE discount_uses SET customer_id = customer_key WHERE substr(customer_key, 1, 4) = 'cus_';
UPDATE discount_uses
SET email = COALESCE(
    (SELECT lower(payments.email) FROM payments WHERE payments.id = discount_uses.payment_id),
    CASE WHEN customer_id IS NULL THEN customer_key ELSE '' END
);
ALTER TABLE discount_uses DROP COLUMN customer_key;
CREATE INDEX discount_uses_customer ON discount_uses (discount_id, customer_id);
CREATE INDEX discount_uses_email ON discount_uses (discount_id, email);
