//! API keys: server-to-server credentials with staff powers limited to their scopes.
//! Creating, listing and revoking them needs [`Permission::Administration`] (admins
//! only); the secret is shown once and only its hash is kept.

use super::{hash_token, new_secret};
use crate::domain::time::Timestamp;
use crate::domain::validate::Checks;
use crate::domain::{DomainError, DomainResult, Permission, Principal, ids};
use crate::store::Store;
use crate::store::access::{self as store, ApiKeyRow};

/// A key's last use is written at most this often.
const TOUCH_EVERY_SECONDS: i64 = 60;

#[derive(Debug, Clone)]
pub struct ApiKey {
    pub id: String,
    pub name: String,
    pub scopes: Vec<Permission>,
    pub created_by: Option<String>,
    pub created_at: Timestamp,
    pub last_used_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
}

/// Creates an API key; the secret is returned once and only its hash is kept.
pub async fn create_api_key(
    db: &Store,
    caller: &Principal,
    name: &str,
    scopes: &[String],
) -> DomainResult<(ApiKey, String)> {
    caller.require(Permission::Administration)?;
    new_api_key(db, caller.staff_id(), name, scopes).await
}

/// Creates an API key from the command line (the operator is trusted).
pub async fn create_api_key_as_operator(db: &Store, name: &str, scopes: &[String]) -> DomainResult<(ApiKey, String)> {
    new_api_key(db, None, name, scopes).await
}

async fn new_api_key(
    db: &Store,
    created_by: Option<&str>,
    name: &str,
    scopes: &[String],
) -> DomainResult<(ApiKey, String)> {
    let mut checks = Checks::default();
    let name = checks.text("name", name, 100);
    let mut parsed = Vec::new();
    for (index, scope) in scopes.iter().enumerate() {
        match Permission::parse_scope(scope) {
            Some(permission) if !parsed.contains(&permission) => parsed.push(permission),
            Some(_) => {}
            None => checks.fail(format!("scopes[{index}]"), "must be catalog, inventory or orders"),
        }
    }
    if scopes.is_empty() {
        checks.fail("scopes", "a key needs at least one scope");
    }
    checks.finish()?;
    let secret = format!("bk_{}", new_secret());
    let row = ApiKeyRow {
        id: ids::new_id("key"),
        name,
        scopes: parsed.iter().map(|p| p.as_str()).collect::<Vec<_>>().join(","),
        created_by: created_by.map(str::to_owned),
        created_at: Timestamp::now().0,
        last_used_at: None,
        revoked_at: None,
    };
    let mut tx = db.write().await?;
    store::insert_api_key(&mut tx, &row, &hash_token(&secret)).await?;
    tx.commit().await?;
    Ok((api_key(row), secret))
}

pub async fn list_api_keys(db: &Store, caller: &Principal) -> DomainResult<Vec<ApiKey>> {
    caller.require(Permission::Administration)?;
    let mut conn = db.read().await?;
    Ok(store::list_api_keys(&mut conn)
        .await?
        .into_iter()
        .map(api_key)
        .collect())
}

pub async fn revoke_api_key(db: &Store, caller: &Principal, id: &str) -> DomainResult<()> {
    caller.require(Permission::Administration)?;
    let mut tx = db.write().await?;
    if !store::revoke_api_key(&mut tx, id, Timestamp::now().0).await? {
        return Err(DomainError::NotFound("api key"));
    }
    tx.commit().await?;
    Ok(())
}

/// The principal of a live API key, recording its use.
pub async fn resolve_api_key(db: &Store, secret: &str) -> DomainResult<Option<Principal>> {
    let found = {
        let mut conn = db.read().await?;
        store::find_live_api_key(&mut conn, &hash_token(secret)).await?
    };
    let Some(row) = found else { return Ok(None) };
    let now = Timestamp::now().0;
    if row
        .last_used_at
        .is_none_or(|last| now - last > TOUCH_EVERY_SECONDS * 1_000_000)
    {
        let mut tx = db.write().await?;
        store::touch_api_key(&mut tx, &row.id, now).await?;
        tx.commit().await?;
    }
    let key = api_key(row);
    Ok(Some(Principal::ApiKey {
        id: key.id,
        scopes: key.scopes,
    }))
}

fn api_key(row: ApiKeyRow) -> ApiKey {
    ApiKey {
        scopes: row.scopes.split(',').filter_map(Permission::parse_scope).collect(),
        id: row.id,
        name: row.name,
        created_by: row.created_by,
        created_at: Timestamp(row.created_at),
        last_used_at: row.last_used_at.map(Timestamp),
        revoked_at: row.revoked_at.map(Timestamp),
    }
}
