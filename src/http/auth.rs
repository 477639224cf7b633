//! Accounts and sessions (contract: Customers and sessions). Login and registration also
//! open a browser session (an HttpOnly cookie, see `cookies`); logout ends it.

use std::net::SocketAddr;

use axum::Router;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use super::extract::{ApiJson, Caller, SignedIn};
use super::problem::{ApiError, ApiResult, Problem};
use super::shapes::time;
use super::{AppState, Json};
use crate::app::caller::presented_token;
use crate::app::cookies;
use crate::domain::accounts::customers::{self, Registration};
use crate::domain::accounts::{Account, Session, password_reset, sessions};
use crate::domain::accounts::{Customer, StaffMember};
use crate::domain::{DomainError, Principal, carts};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/auth/register", post(register))
        .route("/v1/auth/login", post(login))
        .route("/v1/auth/logout", post(logout))
        .route("/v1/auth/logout-all", post(logout_everywhere))
        .route("/v1/auth/password-reset", post(request_password_reset))
        .route("/v1/auth/password-reset/confirm", post(confirm_password_reset))
        .route("/v1/me", get(me))
        .route("/v1/me/password", post(change_password))
}

/// Creates a customer account and logs it in.
#[utoipa::path(post, path = "/v1/auth/register", tag = "customers", request_body = RegisterRequest,
    responses((status = 201, body = SessionResponse, description = "the account, with a session (also set as a cookie)"),
              (status = 409, body = Problem, description = "email taken"), (status = 422, body = Problem)))]
pub async fn register(State(state): State<AppState>, ApiJson(body): ApiJson<RegisterRequest>) -> ApiResult<Response> {
    let registration = Registration {
        email: &body.email,
        password: &body.password,
        name: body.name.as_deref(),
    };
    let (customer, session) = customers::register(&state.store, registration).await?;
    Ok(session_response(
        &state,
        StatusCode::CREATED,
        session,
        Account::Customer(customer),
        None,
    ))
}

/// Logs in a customer or a staff member. Unknown email and wrong password answer alike.
/// After 10 failures within 15 minutes for one email or from one address, 429.
#[utoipa::path(post, path = "/v1/auth/login", tag = "customers", request_body = LoginRequest,
    responses((status = 200, body = SessionResponse, description = "a session (also set as a cookie)"),
              (status = 401, body = Problem), (status = 429, body = Problem, description = "too many failures; see Retry-After")))]
pub async fn login(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    ApiJson(body): ApiJson<LoginRequest>,
) -> ApiResult<Response> {
    let (account, session) = sessions::login(&state.store, &body.email, &body.password, &peer.ip().to_string()).await?;
    let cart_id = match (&account, body.cart_id.as_deref()) {
        (Account::Customer(customer), Some(guest_cart)) => {
            // The sign-in stands whatever happens to the cart.
            carts::merge_guest_cart(&state.store, &customer.id, guest_cart)
                .await
                .unwrap_or_else(|error| {
                    tracing::warn!(%error, "a guest cart could not be merged at login");
                    None
                })
        }
        _ => None,
    };
    Ok(session_response(&state, StatusCode::OK, session, account, cart_id))
}

/// The session in the body, and as the browser's session and CSRF cookies.
fn session_response(
    state: &AppState,
    status: StatusCode,
    session: Session,
    account: Account,
    cart_id: Option<String>,
) -> Response {
    let (customer, staff) = match account {
        Account::Customer(customer) => (Some(customer.into()), None),
        Account::Staff(staff) => (None, Some(staff.into())),
    };
    let max_age = (session.expires_at.0 - crate::domain::time::Timestamp::now().0) / 1_000_000;
    let set_cookies = cookies::session_cookies(&session.token, max_age, state.secure_cookies);
    let body = SessionResponse {
        csrf_token: cookies::csrf_token(&session.token),
        token: session.token,
        expires_at: session.expires_at.to_rfc3339(),
        customer,
        staff,
        cart_id,
    };
    let mut response = (status, Json(body)).into_response();
    for cookie in set_cookies {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

/// Revokes the caller's session at once (and clears the browser's cookies).
#[utoipa::path(post, path = "/v1/auth/logout", tag = "customers", security(("bearer" = [])),
    responses((status = 204, description = "logged out"), (status = 401, body = Problem)))]
pub async fn logout(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
    headers: HeaderMap,
) -> ApiResult<Response> {
    if matches!(caller, Principal::ApiKey { .. }) {
        // A key is not a session: an admin revokes it (DELETE /v1/admin/api-keys/{id}).
        return Err(DomainError::Forbidden.into());
    }
    sessions::logout(&state.store, session_token(&headers)?).await?;
    let mut response = StatusCode::NO_CONTENT.into_response();
    for cookie in cookies::cleared_cookies(state.secure_cookies) {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    Ok(response)
}

/// Revokes every session of the caller, on every device.
#[utoipa::path(post, path = "/v1/auth/logout-all", tag = "customers", security(("bearer" = [])),
    responses((status = 204, description = "every session revoked"), (status = 401, body = Problem)))]
pub async fn logout_everywhere(State(state): State<AppState>, SignedIn(caller): SignedIn) -> ApiResult<StatusCode> {
    sessions::logout_everywhere(&state.store, &caller).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Changes the caller's password; every other session of theirs is revoked.
#[utoipa::path(post, path = "/v1/me/password", tag = "customers", request_body = ChangePasswordRequest,
    security(("bearer" = [])),
    responses((status = 204, description = "changed"), (status = 401, body = Problem), (status = 422, body = Problem)))]
pub async fn change_password(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
    headers: HeaderMap,
    ApiJson(body): ApiJson<ChangePasswordRequest>,
) -> ApiResult<StatusCode> {
    let token = session_token(&headers)?;
    sessions::change_password(&state.store, &caller, token, &body.current_password, &body.new_password).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Emails a single-use reset link (valid 30 minutes) if the address has an account.
/// Always 202, so that nobody learns which emails have accounts.
#[utoipa::path(post, path = "/v1/auth/password-reset", tag = "customers", request_body = PasswordResetRequest,
    responses((status = 202, description = "if the email has an account, a reset email is on its way")))]
pub async fn request_password_reset(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<PasswordResetRequest>,
) -> ApiResult<StatusCode> {
    password_reset::request_reset(&state.store, &body.email, &state.public_url).await?;
    Ok(StatusCode::ACCEPTED)
}

/// Sets a new password with the emailed token; every session of the account is revoked.
#[utoipa::path(post, path = "/v1/auth/password-reset/confirm", tag = "customers",
    request_body = PasswordResetConfirmRequest,
    responses((status = 204, description = "password changed"),
              (status = 422, body = Problem, description = "the token is unknown, used or expired; or the password too short")))]
pub async fn confirm_password_reset(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<PasswordResetConfirmRequest>,
) -> ApiResult<StatusCode> {
    password_reset::confirm_reset(&state.store, &body.token, &body.password).await?;
    Ok(StatusCode::NO_CONTENT)
}

fn session_token(headers: &HeaderMap) -> ApiResult<&str> {
    presented_token(headers).ok_or(ApiError::Domain(DomainError::Unauthorized))
}

/// The logged-in customer.
#[utoipa::path(get, path = "/v1/me", tag = "customers", security(("bearer" = [])),
    responses((status = 200, body = CustomerDto), (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn me(State(state): State<AppState>, Caller(caller): Caller) -> ApiResult<Json<CustomerDto>> {
    Ok(Json(customers::get_own_account(&state.store, &caller).await?.into()))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    #[schema(example = "ada@example.com")]
    pub email: String,
    /// At least 10 characters.
    #[schema(example = "correct horse battery")]
    #[schema(min_length = 10, max_length = 1024)]
    pub password: String,
    #[schema(max_length = 200)]
    pub name: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
    /// A guest cart to bring along: a customer's login merges it into their open cart.
    pub cart_id: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordResetRequest {
    pub email: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordResetConfirmRequest {
    /// The token from the reset email.
    pub token: String,
    /// The new password: at least 10 characters.
    pub password: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePasswordRequest {
    pub current_password: String,
    /// At least 10 characters.
    pub new_password: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Customer)]
pub struct CustomerDto {
    pub id: String,
    pub email: String,
    pub name: Option<String>,
    pub created_at: String,
}

impl From<Customer> for CustomerDto {
    fn from(customer: Customer) -> Self {
        CustomerDto {
            id: customer.id,
            email: customer.email,
            name: customer.name,
            created_at: time(customer.created_at),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Staff)]
pub struct StaffDto {
    pub id: String,
    pub email: String,
    pub name: Option<String>,
    /// `admin` or `staff`.
    pub role: String,
    pub created_at: String,
}

impl From<StaffMember> for StaffDto {
    fn from(staff: StaffMember) -> Self {
        StaffDto {
            id: staff.id,
            email: staff.email,
            name: staff.name,
            role: staff.role.as_str().to_owned(),
            created_at: time(staff.created_at),
        }
    }
}

/// A new session. Send the token as `Authorization: Bearer <token>`.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionResponse {
    pub token: String,
    /// For a browser using the session cookie instead of the token: send this back as
    /// `X-CSRF-Token` on every POST, PATCH and DELETE.
    pub csrf_token: String,
    pub expires_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer: Option<CustomerDto>,
    /// Present instead of `customer` when a staff member logs in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub staff: Option<StaffDto>,
    /// After a login with `cart_id`: the customer's cart that now holds the guest cart's
    /// lines (the storefront keeps it as its cart).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cart_id: Option<String>,
}
