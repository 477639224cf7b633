//! Password reset: a single-use token valid for 30 minutes, delivered by email through the
//! outbox (so a slow mail server never slows a request). Asking always answers the same,
//! whether or not the email has an account (no account enumeration); using the token sets
//! the new password and revokes every session of the account.

use super::{hash_password, hash_token, new_secret};
use crate::domain::outbox::{self, Email, Message};
use crate::domain::time::Timestamp;
use crate::domain::validate::{self, Checks};
use crate::domain::{DomainError, DomainResult};
use crate::store::Store;
use crate::store::customers::{self as people, SessionOwner};

pub const RESET_SECONDS: i64 = 30 * 60;

/// Starts a reset for `email` if it has an account; does nothing visible otherwise.
/// `link_base` is the shop's public address, for the link in the email.
pub async fn request_reset(db: &Store, email: &str, link_base: &str) -> DomainResult<()> {
    let mut checks = Checks::default();
    let email = validate::email(&mut checks, "email", email);
    checks.finish()?;
    let now = Timestamp::now();
    let mut tx = db.write().await?;
    let account = match people::find_customer_by_email(&mut tx, &email).await? {
        Some(customer) => Some(("customer", customer.id)),
        None => people::find_staff_by_email(&mut tx, &email)
            .await?
            .map(|staff| ("staff", staff.id)),
    };
    let Some((kind, id)) = account else { return Ok(()) };
    let token = format!("prt_{}", new_secret());
    people::insert_password_reset(
        &mut tx,
        &hash_token(&token),
        kind,
        &id,
        now.0,
        now.plus_seconds(RESET_SECONDS).0,
    )
    .await?;
    let message = Email {
        to: email,
        subject: "Reset your password".to_owned(),
        // Short lines (under 76 characters), so mail software sends the text as it is
        // and the token reaches the reader unwrapped.
        text: format!(
            "Someone asked to reset the password of your account.\n\n\
             If it was you, open {}/reset-password\n\
             and enter this token (or send it to POST /v1/auth/password-reset/confirm):\n\n  \
             {token}\n\n\
             It works once, within 30 minutes. If it was not you, ignore this email.\n",
            link_base.trim_end_matches('/')
        ),
    };
    outbox::enqueue(&mut tx, &Message::Email(message)).await?;
    tx.commit().await?;
    Ok(())
}

/// Sets a new password with a reset token; revokes every session of the account.
///
/// # Errors
/// `Validation` on `token` when it is unknown, used or expired, and on `password` when it
/// is too short.
pub async fn confirm_reset(db: &Store, token: &str, new_password: &str) -> DomainResult<()> {
    let mut checks = Checks::default();
    validate::new_password(&mut checks, "password", new_password);
    checks.finish()?;
    let password_hash = hash_password(new_password.to_owned()).await?;
    let now = Timestamp::now().0;
    let mut tx = db.write().await?;
    let Some((kind, id)) = people::use_password_reset(&mut tx, &hash_token(token), now).await? else {
        return Err(DomainError::invalid(
            "token",
            "is not valid: it is unknown, used or expired",
        ));
    };
    let owner = if kind == "staff" {
        people::update_staff_password(&mut tx, &id, &password_hash, now).await?;
        SessionOwner::Staff(&id)
    } else {
        people::update_customer_password(&mut tx, &id, &password_hash, now).await?;
        SessionOwner::Customer(&id)
    };
    people::delete_sessions_of(&mut tx, owner, None).await?;
    people::retire_password_resets(&mut tx, &kind, &id, now).await?;
    tx.commit().await?;
    Ok(())
}

/// Deletes reset tokens past their expiry.
pub async fn delete_expired(db: &Store) -> DomainResult<u64> {
    let mut tx = db.write().await?;
    let deleted = people::delete_expired_password_resets(&mut tx, Timestamp::now().0).await?;
    tx.commit().await?;
    Ok(deleted)
}
