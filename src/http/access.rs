//! Administration (admins only): staff accounts, API keys and the audit log; and the
//! middleware that writes every staff and API-key action to that log.

use std::net::SocketAddr;

use axum::Router;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::StaffDto;
use super::extract::{ApiJson, ApiPath, ApiQuery, Staff};
use super::problem::{ApiError, ApiResult, Problem};
use super::shapes::{ListResponse, PageQuery};
use super::{AppState, Created, Json};
use crate::app::caller::{ResolvedCaller, resolve_caller};
use crate::domain::PageRequest;
use crate::domain::accounts::api_keys::{self, ApiKey};
use crate::domain::accounts::audit::{self, AuditEntry, AuditedAction};
use crate::domain::accounts::staff;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/admin/staff", get(list_staff).post(create_staff))
        .route("/v1/admin/api-keys", get(list_api_keys).post(create_api_key))
        .route("/v1/admin/api-keys/{id}", delete(revoke_api_key))
        .route("/v1/admin/audit", get(list_audit))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewStaffRequest {
    pub email: String,
    /// At least 10 characters.
    pub password: String,
    /// `admin` or `staff`.
    pub role: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewApiKeyRequest {
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
    /// Any of `catalog`, `inventory`, `orders`.
    pub scopes: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKeyDto {
    pub id: String,
    pub name: String,
    pub scopes: Vec<String>,
    pub created_by: Option<String>,
    pub created_at: String,
    pub last_used_at: Option<String>,
    pub revoked_at: Option<String>,
    /// The key itself: only in the response that created it. Send it as a bearer token.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

impl From<ApiKey> for ApiKeyDto {
    fn from(key: ApiKey) -> Self {
        ApiKeyDto {
            id: key.id,
            name: key.name,
            scopes: key.scopes.iter().map(|scope| scope.as_str().to_owned()).collect(),
            created_by: key.created_by,
            created_at: key.created_at.to_rfc3339(),
            last_used_at: key.last_used_at.map(|t| t.to_rfc3339()),
            revoked_at: key.revoked_at.map(|t| t.to_rfc3339()),
            key: None,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEntryDto {
    pub id: String,
    /// The staff member or API key that acted.
    pub actor_id: String,
    /// `staff` or `api_key`.
    pub actor_kind: String,
    /// Method and route, such as `POST /v1/admin/orders/{id}/refund`.
    pub action: String,
    /// The path requested.
    pub target: String,
    /// The response's status.
    pub status: u16,
    pub client_ip: String,
    pub request_id: Option<String>,
    pub created_at: String,
}

impl From<AuditEntry> for AuditEntryDto {
    fn from(entry: AuditEntry) -> Self {
        AuditEntryDto {
            id: entry.id,
            actor_id: entry.actor_id,
            actor_kind: entry.actor_kind,
            action: entry.action,
            target: entry.target,
            status: entry.status,
            client_ip: entry.client_ip,
            request_id: entry.request_id,
            created_at: entry.created_at.to_rfc3339(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKeyList {
    pub data: Vec<ApiKeyDto>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StaffList {
    pub data: Vec<StaffDto>,
}

/// Every staff account.
#[utoipa::path(get, path = "/v1/admin/staff", tag = "administration", security(("bearer" = [])),
    responses((status = 200, body = StaffList), (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn list_staff(State(state): State<AppState>, Staff(caller): Staff) -> ApiResult<Json<StaffList>> {
    let staff = staff::list_staff(&state.store, &caller).await?;
    Ok(Json(StaffList {
        data: staff.into_iter().map(Into::into).collect(),
    }))
}

/// Creates a staff account (`admin` or `staff`).
#[utoipa::path(post, path = "/v1/admin/staff", tag = "administration", request_body = NewStaffRequest,
    security(("bearer" = [])),
    responses((status = 201, body = StaffDto), (status = 403, body = Problem), (status = 409, body = Problem),
              (status = 422, body = Problem)))]
pub async fn create_staff(
    State(state): State<AppState>,
    Staff(caller): Staff,
    ApiJson(body): ApiJson<NewStaffRequest>,
) -> ApiResult<Created<StaffDto>> {
    let staff = staff::create_staff(&state.store, &caller, &body.email, &body.password, &body.role).await?;
    Ok(Created(staff.into()))
}

/// Every API key, revoked ones included (never the keys themselves).
#[utoipa::path(get, path = "/v1/admin/api-keys", tag = "administration", security(("bearer" = [])),
    responses((status = 200, body = ApiKeyList), (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn list_api_keys(State(state): State<AppState>, Staff(caller): Staff) -> ApiResult<Json<ApiKeyList>> {
    let keys = api_keys::list_api_keys(&state.store, &caller).await?;
    Ok(Json(ApiKeyList {
        data: keys.into_iter().map(Into::into).collect(),
    }))
}

/// Creates an API key; the response holds the key, shown this once.
#[utoipa::path(post, path = "/v1/admin/api-keys", tag = "administration", request_body = NewApiKeyRequest,
    security(("bearer" = [])),
    responses((status = 201, body = ApiKeyDto), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn create_api_key(
    State(state): State<AppState>,
    Staff(caller): Staff,
    ApiJson(body): ApiJson<NewApiKeyRequest>,
) -> ApiResult<Created<ApiKeyDto>> {
    let (key, secret) = api_keys::create_api_key(&state.store, &caller, &body.name, &body.scopes).await?;
    let mut dto = ApiKeyDto::from(key);
    dto.key = Some(secret);
    Ok(Created(dto))
}

/// Revokes an API key at once.
#[utoipa::path(delete, path = "/v1/admin/api-keys/{id}", tag = "administration", params(("id" = String, Path)),
    security(("bearer" = [])),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn revoke_api_key(
    State(state): State<AppState>,
    Staff(caller): Staff,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    api_keys::revoke_api_key(&state.store, &caller, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Every staff and API-key action, newest first.
#[utoipa::path(get, path = "/v1/admin/audit", tag = "administration", params(PageQuery), security(("bearer" = [])),
    responses((status = 200, body = ListResponse<AuditEntryDto>), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn list_audit(
    State(state): State<AppState>,
    Staff(caller): Staff,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> ApiResult<Json<ListResponse<AuditEntryDto>>> {
    let page = PageRequest::parse(query.limit, query.cursor.as_deref())?;
    let entries = audit::list_audit(&state.store, &caller, &page).await?;
    Ok(Json(ListResponse::from_page(entries, Into::into)))
}

/// Writes every request to the staff API that changes something (any method but GET) to
/// the audit log, with its outcome and whoever made it. The request runs on its own task,
/// so a client hanging up cannot skip the entry of an action that went on without it; the
/// caller is resolved once and handed to the handler, so the entry names who acted.
pub async fn audit(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let changes = !matches!(*request.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if !(changes && request.uri().path().starts_with("/v1/admin/")) {
        return next.run(request).await;
    }
    let caller = match request.extensions().get::<ResolvedCaller>() {
        Some(ResolvedCaller(caller)) => Ok(caller.clone()),
        None => resolve_caller(&state.store, request.method(), request.headers()).await,
    };
    let caller = match caller {
        Ok(caller) => caller,
        Err(error) => return ApiError::from(error).into_response(),
    };
    request.extensions_mut().insert(ResolvedCaller(caller.clone()));
    let client_ip = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or_else(String::new, |ConnectInfo(peer)| peer.ip().to_string());
    let route = request
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map_or_else(|| request.uri().path().to_owned(), |path| path.as_str().to_owned());
    let action = format!("{} {route}", request.method());
    let target = request.uri().path().to_owned();
    let request_id = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let recorded = tokio::spawn(async move {
        let response = next.run(request).await;
        let entry = AuditedAction {
            action: &action,
            target: &target,
            status: response.status().as_u16(),
            client_ip: &client_ip,
            request_id: request_id.as_deref(),
        };
        if let Err(error) = audit::record(&state.store, &caller, entry).await {
            tracing::error!(%error, "could not write the audit log");
        }
        response
    });
    match recorded.await {
        Ok(response) => response,
        Err(error) => ApiError::Domain(crate::domain::DomainError::Internal(format!(
            "audited request failed: {error}"
        )))
        .into_response(),
    }
}
