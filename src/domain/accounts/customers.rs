//! Customers' own accounts: registration, and the signed-in customer's account.

use super::passwords::hash_password;
use super::sessions::start_session;
use super::{Customer, Session};
use crate::domain::events::{self, EventKind, Subject};
use crate::domain::time::Timestamp;
use crate::domain::validate::{self, Checks};
use crate::domain::{DomainError, DomainResult, Principal, ids};
use crate::store::Store;
use crate::store::customers::{self as store, CustomerRow, SessionOwner};

pub struct Registration<'a> {
    pub email: &'a str,
    pub password: &'a str,
    pub name: Option<&'a str>,
}

pub async fn register(db: &Store, input: Registration<'_>) -> DomainResult<(Customer, Session)> {
    let mut checks = Checks::default();
    let email = validate::email(&mut checks, "email", input.email);
    validate::new_password(&mut checks, "password", input.password);
    let name = checks.optional_text("name", input.name, 200);
    checks.finish()?;

    let password_hash = hash_password(input.password.to_owned()).await?;
    let now = Timestamp::now();
    let row = CustomerRow {
        id: ids::new_id("cus"),
        email,
        name,
        password_hash,
        created_at: now.0,
    };
    let mut tx = db.write().await?;
    // One email, one account: a customer may not take a staff member's email.
    if store::find_staff_by_email(&mut tx, &row.email).await?.is_some() {
        return Err(DomainError::conflict("an account with this email already exists"));
    }
    store::insert_customer(&mut tx, &row).await.map_err(|error| {
        if error.is_unique_violation("customers.email") {
            DomainError::conflict("an account with this email already exists")
        } else {
            error.into()
        }
    })?;
    let session = start_session(&mut tx, SessionOwner::Customer(&row.id), now).await?;
    let customer = Customer::from(row);
    events::record(&mut tx, EventKind::CustomerCreated, Subject::Customer(&customer)).await?;
    tx.commit().await?;
    Ok((customer, session))
}

/// The signed-in customer's own account: `Unauthorized` for no one, `Forbidden` for staff.
pub async fn get_own_account(db: &Store, caller: &Principal) -> DomainResult<Customer> {
    let (id, _) = caller.require_customer()?;
    let mut conn = db.read().await?;
    let row = store::find_customer(&mut conn, id)
        .await?
        .ok_or(DomainError::NotFound("customer"))?;
    Ok(row.into())
}
