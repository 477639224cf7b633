//! Staff accounts. The first is made from the command line (`backroom admin create`);
//! admins make the others. There is no public way to become staff.

use super::passwords::hash_password;
use super::{Role, StaffMember};
use crate::domain::time::Timestamp;
use crate::domain::validate::{self, Checks};
use crate::domain::{DomainError, DomainResult, Permission, Principal, ids};
use crate::store::Store;
use crate::store::access as access_store;
use crate::store::customers::{self as store, StaffRow};

/// Creates a staff account with role admin (the command line's `admin create`).
///
/// # Errors
/// `Validation` for a bad email or a password under 10 characters; `Conflict` when the
/// email is taken by a staff member or a customer.
pub async fn create_admin(db: &Store, email: &str, password: &str) -> DomainResult<StaffMember> {
    create(db, email, password, Role::Admin).await
}

/// Creates a staff account of `role`; callers check who may.
async fn create(db: &Store, email: &str, password: &str, role: Role) -> DomainResult<StaffMember> {
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
    create(db, email, password, role).await
}

pub async fn list_staff(db: &Store, caller: &Principal) -> DomainResult<Vec<StaffMember>> {
    caller.require(Permission::Administration)?;
    let mut conn = db.read().await?;
    access_store::list_staff(&mut conn)
        .await?
        .into_iter()
        .map(StaffMember::try_from)
        .collect()
}
