//! Staff accounts, API keys and the audit log: the administration of who may do what.
//! Every operation here needs [`Permission::Administration`] (admins only), except
//! resolving a key and recording an audit entry, which the HTTP layer does for every call.

use super::auth::{StaffMember, hash_token, new_secret};
use super::staff::Role;
use super::time::Timestamp;
use super::validate::Checks;
use super::{DomainError, DomainResult, Page, PageRequest, Permission, Principal, ids};
use crate::store::Store;
use crate::store::access::{self as store, ApiKeyRow, AuditRow};

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

/// Creates a staff account of `role` (admins only).
pub async fn create_staff(
    db: &Store,
    caller: &Principal,
    email: &str,
    password: &str,
    role: &str,
) -> DomainResult<StaffMember> {
    caller.require(Permission::Administration)?;
    let role = match role {
        "admin" => Role::Admin,
        "staff" => Role::Staff,
        _ => return Err(DomainError::invalid("role", "must be admin or staff")),
    };
    super::staff::create(db, email, password, role).await
}

pub async fn list_staff(db: &Store, caller: &Principal) -> DomainResult<Vec<StaffMember>> {
    caller.require(Permission::Administration)?;
    let mut conn = db.read().await?;
    store::list_staff(&mut conn)
        .await?
        .into_iter()
        .map(StaffMember::try_from)
        .collect()
}

/// One audited action.
#[derive(Debug, Clone)]
pub struct AuditEntry {
    pub id: String,
    pub actor_id: String,
    pub actor_kind: String,
    pub action: String,
    pub target: String,
    pub status: u16,
    pub client_ip: String,
    pub request_id: Option<String>,
    pub created_at: Timestamp,
}

/// What a staff member or API key did; the caller of anything else is not recorded.
pub struct AuditedAction<'a> {
    pub action: &'a str,
    pub target: &'a str,
    pub status: u16,
    pub client_ip: &'a str,
    pub request_id: Option<&'a str>,
}

pub async fn record(db: &Store, caller: &Principal, action: AuditedAction<'_>) -> DomainResult<()> {
    let (actor_id, actor_kind) = match caller {
        Principal::Staff { id, .. } => (id, "staff"),
        Principal::ApiKey { id, .. } => (id, "api_key"),
        Principal::Customer { .. } | Principal::Anonymous => return Ok(()),
    };
    let row = AuditRow {
        id: ids::new_id("aud"),
        actor_id: actor_id.clone(),
        actor_kind: actor_kind.to_owned(),
        action: action.action.to_owned(),
        target: action.target.to_owned(),
        status: i64::from(action.status),
        client_ip: action.client_ip.to_owned(),
        request_id: action.request_id.map(str::to_owned),
        created_at: Timestamp::now().0,
    };
    let mut tx = db.write().await?;
    store::insert_audit(&mut tx, &row).await?;
    tx.commit().await?;
    Ok(())
}

pub async fn list_audit(db: &Store, caller: &Principal, page: &PageRequest) -> DomainResult<Page<AuditEntry>> {
    caller.require(Permission::Administration)?;
    let mut conn = db.read().await?;
    let rows = store::list_audit(&mut conn, page.before(), page.fetch_limit()).await?;
    let entries = rows
        .into_iter()
        .map(|row| AuditEntry {
            id: row.id,
            actor_id: row.actor_id,
            actor_kind: row.actor_kind,
            action: row.action,
            target: row.target,
            status: u16::try_from(row.status).unwrap_or(0),
            client_ip: row.client_ip,
            request_id: row.request_id,
            created_at: Timestamp(row.created_at),
        })
        .collect();
    Ok(page.into_page(entries, |entry| &entry.id))
}
