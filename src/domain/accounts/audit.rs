//! The audit log: every change a staff member or API key makes, with its outcome.

use crate::domain::time::Timestamp;
use crate::domain::{DomainResult, Page, PageRequest, Permission, Principal, ids};
use crate::store::Store;
use crate::store::access::{self as store, AuditRow};

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
