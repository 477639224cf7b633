//! Staff accounts. They are made from the command line (`backroom admin create`), never
//! through a public endpoint.

use super::auth::{StaffMember, hash_password};
use super::time::Timestamp;
use super::validate::{self, Checks};
use super::{DomainError, DomainResult, ids};
use crate::store::Store;
use crate::store::customers::{self as store, StaffRow};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Everything, including staff accounts and settings.
    Admin,
    /// Catalog, stock and orders.
    Staff,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Staff => "staff",
        }
    }

    pub fn parse(value: &str) -> DomainResult<Role> {
        match value {
            "admin" => Ok(Role::Admin),
            "staff" => Ok(Role::Staff),
            other => Err(DomainError::Internal(format!("unknown staff role {other:?}"))),
        }
    }
}

impl TryFrom<StaffRow> for StaffMember {
    type Error = DomainError;

    fn try_from(row: StaffRow) -> DomainResult<Self> {
        Ok(StaffMember {
            id: row.id,
            email: row.email,
            name: row.name,
            role: Role::parse(&row.role)?,
            created_at: Timestamp(row.created_at),
        })
    }
}

/// Creates a staff account with role admin (the command line's `admin create`).
///
/// # Errors
/// `Validation` for a bad email or a password under 10 characters; `Conflict` when the
/// email is taken by a staff member or a customer.
pub async fn create_admin(db: &Store, email: &str, password: &str) -> DomainResult<StaffMember> {
    create(db, email, password, Role::Admin).await
}

/// Creates a staff account of `role`; callers check who may.
pub(crate) async fn create(db: &Store, email: &str, password: &str, role: Role) -> DomainResult<StaffMember> {
    let mut checks = Checks::default();
    let email = validate::email(&mut checks, "email", email);
    validate::new_password(&mut checks, "password", password);
    checks.finish()?;

    let password_hash = hash_password(password.to_owned()).await?;
    let row = StaffRow {
        id: ids::new_id("stf"),
        email,
        name: None,
        role: role.as_str().to_owned(),
        password_hash,
        created_at: Timestamp::now().0,
    };
    let mut tx = db.write().await?;
    // One email, one account: login looks customers up first, so a shared email would
    // make the staff account unreachable.
    if store::find_customer_by_email(&mut tx, &row.email).await?.is_some() {
        return Err(DomainError::conflict("a customer account already uses this email"));
    }
    store::insert_staff(&mut tx, &row).await.map_err(|error| {
        if error.is_unique_violation("staff.email") {
            DomainError::conflict("a staff account with this email already exists")
        } else {
            error.into()
        }
    })?;
    tx.commit().await?;
    row.try_into()
}
