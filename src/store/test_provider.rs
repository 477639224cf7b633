//! The test payment provider's ledger (see `payments::TestProvider`).

use super::{Store, StoreResult};
use crate::{exec, on_conn};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ChargeRow {
    pub idempotency_key: String,
    pub kind: String,
    pub payment_token: String,
    pub amount: i64,
    pub currency: String,
    pub outcome: String,
    pub decline_code: Option<String>,
    pub created_at: i64,
}

/// Records a charge unless one with its key exists; returns whichever is recorded.
pub async fn record_charge(db: &Store, row: &ChargeRow) -> StoreResult<ChargeRow> {
    let mut tx = db.write().await?;
    let inserted = exec!(
        tx,
        sqlx::query(
            "INSERT INTO test_provider_charges
                 (idempotency_key, kind, payment_token, amount, currency, outcome, decline_code, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
             ON CONFLICT (idempotency_key) DO NOTHING",
        )
        .bind(&row.idempotency_key)
        .bind(&row.kind)
        .bind(&row.payment_token)
        .bind(row.amount)
        .bind(&row.currency)
        .bind(&row.outcome)
        .bind(&row.decline_code)
        .bind(row.created_at)
    )? == 1;
    let recorded = if inserted {
        row.clone()
    } else {
        on_conn!(tx, |c| {
            sqlx::query_as(
                "SELECT idempotency_key, kind, payment_token, amount, currency, outcome, decline_code, created_at
                 FROM test_provider_charges WHERE idempotency_key = $1",
            )
            .bind(&row.idempotency_key)
            .fetch_one(c)
            .await
        })?
    };
    tx.commit().await?;
    Ok(recorded)
}

pub async fn find_charge(db: &Store, key: &str) -> StoreResult<Option<ChargeRow>> {
    let mut conn = db.read().await?;
    Ok(on_conn!(conn, |c| {
        sqlx::query_as(
            "SELECT idempotency_key, kind, payment_token, amount, currency, outcome, decline_code, created_at
             FROM test_provider_charges WHERE idempotency_key = $1",
        )
        .bind(key)
        .fetch_optional(c)
        .await
    })?)
}

/// How many captures the provider recorded with outcome `captured` (for tests).
pub async fn count_captures(db: &Store) -> StoreResult<i64> {
    let mut conn = db.read().await?;
    Ok(on_conn!(conn, |c| {
        sqlx::query_scalar("SELECT COUNT(*) FROM test_provider_charges WHERE kind = 'capture' AND outcome = 'captured'")
            .fetch_one(c)
            .await
    })?)
}
