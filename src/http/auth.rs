//! Customer accounts and sessions (contract: Customers and sessions).

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::routing::{get, post};

use std::net::SocketAddr;

use axum::extract::ConnectInfo;

use super::dto::{ChangePasswordRequest, CustomerDto, LoginRequest, RegisterRequest, SessionResponse};
use super::extract::{ApiJson, Caller, bearer_token};
use super::problem::{ApiError, ApiResult, Problem};
use super::{AppState, Created, Json};
use crate::domain::auth::{self, Account, Registration};
use crate::domain::{DomainError, Principal};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/auth/register", post(register))
        .route("/v1/auth/login", post(login))
        .route("/v1/auth/logout", post(logout))
        .route("/v1/auth/logout-all", post(logout_everywhere))
        .route("/v1/me", get(me))
        .route("/v1/me/password", post(change_password))
}

/// Creates a customer account and logs it in.
#[utoipa::path(post, path = "/v1/auth/register", tag = "customers", request_body = RegisterRequest,
    responses((status = 201, body = SessionResponse), (status = 409, body = Problem, description = "email taken"),
              (status = 422, body = Problem)))]
pub async fn register(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<RegisterRequest>,
) -> ApiResult<Created<SessionResponse>> {
    let registration = Registration {
        email: &body.email,
        password: &body.password,
        name: body.name.as_deref(),
    };
    let (customer, session) = auth::register(&state.store, registration).await?;
    Ok(Created(SessionResponse {
        token: session.token,
        expires_at: session.expires_at.to_rfc3339(),
        customer: Some(customer.into()),
        staff: None,
    }))
}

/// Logs in a customer or a staff member. Unknown email and wrong password answer alike.
/// After 10 failures within 15 minutes for one email or from one address, 429.
#[utoipa::path(post, path = "/v1/auth/login", tag = "customers", request_body = LoginRequest,
    responses((status = 200, body = SessionResponse), (status = 401, body = Problem),
              (status = 429, body = Problem, description = "too many failures; see Retry-After")))]
pub async fn login(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    ApiJson(body): ApiJson<LoginRequest>,
) -> ApiResult<Json<SessionResponse>> {
    let (account, session) = auth::login(&state.store, &body.email, &body.password, &peer.ip().to_string()).await?;
    let (customer, staff) = match account {
        Account::Customer(customer) => (Some(customer.into()), None),
        Account::Staff(staff) => (None, Some(staff.into())),
    };
    Ok(Json(SessionResponse {
        token: session.token,
        expires_at: session.expires_at.to_rfc3339(),
        customer,
        staff,
    }))
}

/// Revokes the session of the bearer token at once.
#[utoipa::path(post, path = "/v1/auth/logout", tag = "customers", security(("bearer" = [])),
    responses((status = 204), (status = 401, body = Problem)))]
pub async fn logout(
    State(state): State<AppState>,
    Caller(caller): Caller,
    headers: HeaderMap,
) -> ApiResult<StatusCode> {
    let token = session_token(&caller, &headers)?;
    auth::logout(&state.store, token).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Revokes every session of the caller, on every device.
#[utoipa::path(post, path = "/v1/auth/logout-all", tag = "customers", security(("bearer" = [])),
    responses((status = 204), (status = 401, body = Problem)))]
pub async fn logout_everywhere(State(state): State<AppState>, Caller(caller): Caller) -> ApiResult<StatusCode> {
    auth::logout_everywhere(&state.store, &caller).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Changes the caller's password; every other session of theirs is revoked.
#[utoipa::path(post, path = "/v1/me/password", tag = "customers", request_body = ChangePasswordRequest,
    security(("bearer" = [])),
    responses((status = 204), (status = 401, body = Problem), (status = 422, body = Problem)))]
pub async fn change_password(
    State(state): State<AppState>,
    Caller(caller): Caller,
    headers: HeaderMap,
    ApiJson(body): ApiJson<ChangePasswordRequest>,
) -> ApiResult<StatusCode> {
    let token = session_token(&caller, &headers)?;
    auth::change_password(&state.store, &caller, token, &body.current_password, &body.new_password).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The bearer token of a request whose caller is logged in.
fn session_token<'a>(caller: &Principal, headers: &'a HeaderMap) -> ApiResult<&'a str> {
    if *caller == Principal::Anonymous {
        return Err(DomainError::Unauthorized.into());
    }
    headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(bearer_token)
        .ok_or(ApiError::Domain(DomainError::Unauthorized))
}

/// The logged-in customer.
#[utoipa::path(get, path = "/v1/me", tag = "customers", security(("bearer" = [])),
    responses((status = 200, body = CustomerDto), (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn me(State(state): State<AppState>, Caller(caller): Caller) -> ApiResult<Json<CustomerDto>> {
    let (id, _) = caller.require_customer()?;
    Ok(Json(auth::get_customer(&state.store, id).await?.into()))
}
