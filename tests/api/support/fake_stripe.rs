//! A stand-in for Stripe's API on a loopback port, speaking the subset Backroom calls with
//! Stripe's shapes (PaymentIntent, Refund, the `{"error": {...}}` body; checked against
//! stripe-node's types generated from Stripe's OpenAPI description): form bodies, a bearer
//! key, and idempotency keys honoured as Stripe does (a saved answer, 5xx included, is
//! replayed for the same key and parameters; other parameters are an `idempotency_error`;
//! a key still in use is a 409). Payment methods behave as Stripe's test ones do.
//! Tests read what it received and make it misbehave.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use backroom::payments::{ProviderChoice, StripeConfig};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

pub const SECRET_KEY: &str = "sk_test_backroom";
pub const WEBHOOK_SECRET: &str = "whsec_backroomtestsecret";

/// A request as the fake received it.
#[derive(Debug, Clone)]
pub struct Received {
    pub method: String,
    pub path: String,
    pub idempotency_key: Option<String>,
    pub stripe_version: Option<String>,
    pub form: BTreeMap<String, String>,
}

/// Ways to misbehave, switched on by tests.
#[derive(Debug, Clone, Copy, Default)]
pub struct Faults {
    /// A confirmation charges, then answers 500 (saved for its key, as Stripe does).
    pub error_after_charge: bool,
    /// A confirmation charges, then waits this long before answering.
    pub delay_after_charge: Option<Duration>,
    /// Reads (GET) answer 500: Stripe is down for the lookup.
    pub reads_fail: bool,
}

#[derive(Default)]
struct Ledger {
    intents: BTreeMap<String, Value>,
    saved: HashMap<String, (String, u16, Value)>,
    in_flight: HashSet<String>,
    received: Vec<Received>,
    /// Every money movement: `(kind, intent id, amount)`; kind is `capture` or `refund`.
    movements: Vec<(String, String, i64)>,
    faults: Faults,
    next_id: u64,
}

#[derive(Clone)]
pub struct FakeStripe {
    pub url: String,
    ledger: Arc<Mutex<Ledger>>,
}

impl FakeStripe {
    pub async fn start() -> FakeStripe {
        let ledger = Arc::new(Mutex::new(Ledger::default()));
        let app = Router::new()
            .route("/v3/", axum::routing::get(stand_in_stripe_js))
            .route("/test/finish-action", axum::routing::post(finish_action_by_secret))
            .fallback(handle)
            .with_state(ledger.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind fake Stripe");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        tokio::spawn(async move { axum::serve(listener, app).await.expect("fake Stripe serves") });
        FakeStripe { url, ledger }
    }

    /// The provider settings that point a server at this fake.
    pub fn provider(&self) -> ProviderChoice {
        ProviderChoice::Stripe(StripeConfig {
            secret_key: SECRET_KEY.to_owned(),
            webhook_secret: WEBHOOK_SECRET.to_owned(),
            api_base: self.url.clone(),
            publishable_key: Some("pk_test_backroom".to_owned()),
            js_url: format!("{}/v3/", self.url),
        })
    }

    fn ledger(&self) -> std::sync::MutexGuard<'_, Ledger> {
        self.ledger.lock().expect("ledger")
    }

    pub fn set_faults(&self, faults: Faults) {
        self.ledger().faults = faults;
    }

    pub fn received(&self) -> Vec<Received> {
        self.ledger().received.clone()
    }

    /// Captures of the intent of Backroom's payment `payment_id`: money taken.
    pub fn captures_of(&self, payment_id: &str) -> usize {
        let ledger = self.ledger();
        let intent = intent_of(&ledger, payment_id);
        ledger
            .movements
            .iter()
            .filter(|(kind, id, _)| kind == "capture" && Some(id) == intent.as_ref())
            .count()
    }

    /// The PaymentIntents made for Backroom's payment `payment_id`: a second one could be
    /// a second charge.
    pub fn intents_for(&self, payment_id: &str) -> usize {
        self.ledger()
            .intents
            .values()
            .filter(|intent| intent["metadata"]["backroom_payment_id"] == payment_id)
            .count()
    }

    /// Every capture the fake made, of any payment.
    pub fn all_captures(&self) -> usize {
        self.ledger()
            .movements
            .iter()
            .filter(|(kind, ..)| kind == "capture")
            .count()
    }

    pub fn refunds(&self) -> Vec<(String, i64)> {
        self.ledger()
            .movements
            .iter()
            .filter(|(kind, ..)| kind == "refund")
            .map(|(_, intent, amount)| (intent.clone(), *amount))
            .collect()
    }

    /// The PaymentIntent made for Backroom's payment `payment_id`.
    pub fn intent_for(&self, payment_id: &str) -> Value {
        let ledger = self.ledger();
        let id = intent_of(&ledger, payment_id).expect("an intent for the payment");
        ledger.intents[&id].clone()
    }

    /// The customer finishes (or fails) 3-D Secure in their browser, as Stripe.js would
    /// have them do.
    pub fn finish_action(&self, payment_id: &str, succeeded: bool) {
        let mut ledger = self.ledger();
        let id = intent_of(&ledger, payment_id).expect("an intent for the payment");
        finish(&mut ledger, &id, succeeded);
    }

    /// A Stripe event about the intent of `payment_id`, as Stripe sends it: the body and
    /// its `Stripe-Signature` header signed with `secret` at `timestamp`.
    pub fn event(&self, event_id: &str, kind: &str, payment_id: &str) -> String {
        let intent = self.intent_for(payment_id);
        json!({
            "id": event_id, "object": "event", "api_version": backroom::payments::STRIPE_VERSION,
            "created": now_seconds(), "livemode": false, "pending_webhooks": 1, "type": kind,
            "request": {"id": null, "idempotency_key": null},
            "data": {"object": intent}
        })
        .to_string()
    }
}

pub fn now_seconds() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64
}

/// A `Stripe-Signature` header for `body`, computed as Stripe's libraries compute it.
pub fn signature(secret: &str, timestamp: i64, body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("key");
    mac.update(format!("{timestamp}.{body}").as_bytes());
    let digest: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
    format!("t={timestamp},v1={digest}")
}

/// 3-D Secure finished (or failed) for intent `id`.
fn finish(ledger: &mut Ledger, id: &str, succeeded: bool) {
    let intent = ledger.intents.get_mut(id).expect("intent");
    assert_eq!(intent["status"], "requires_action");
    intent["next_action"] = Value::Null;
    if succeeded {
        let amount = intent["amount"].as_i64().expect("amount");
        let manual = intent["capture_method"] == "manual";
        intent["status"] = json!(if manual { "requires_capture" } else { "succeeded" });
        if manual {
            intent["amount_capturable"] = json!(amount);
        } else {
            intent["amount_received"] = json!(amount);
            ledger.movements.push(("capture".to_owned(), id.to_owned(), amount));
        }
    } else {
        intent["status"] = json!("requires_payment_method");
        intent["last_payment_error"] = json!({
            "type": "card_error", "code": "payment_intent_authentication_failure",
            "message": "The provided PaymentMethod has failed authentication."
        });
    }
}

fn intent_of(ledger: &Ledger, payment_id: &str) -> Option<String> {
    ledger
        .intents
        .values()
        .find(|intent| intent["metadata"]["backroom_payment_id"] == payment_id)
        .and_then(|intent| intent["id"].as_str().map(str::to_owned))
}

fn stripe_error(status: u16, kind: &str, code: &str, message: &str, extra: Value) -> (u16, Value) {
    let mut error = json!({"type": kind, "code": code, "message": message});
    if let (Some(error), Some(extra)) = (error.as_object_mut(), extra.as_object()) {
        error.extend(extra.clone());
    }
    (status, json!({ "error": error }))
}

/// A stand-in for Stripe.js with the calls the storefront makes: a plain text field
/// takes the "card" (a test PaymentMethod id), and 3-D Secure is finished at once by
/// asking this fake to finish it.
const STAND_IN_STRIPE_JS: &str = r#"
(function () {
  const origin = new URL(document.currentScript.src).origin;
  window.Stripe = function () {
    let card;
    return {
      elements() {
        return {
          create() {
            return {
              mount(target) {
                card = document.createElement("input");
                card.setAttribute("aria-label", "Card (stand-in)");
                card.value = "pm_card_visa";
                target.appendChild(card);
              },
            };
          },
          async submit() {
            return card.value ? {} : { error: { message: "Your card number is incomplete." } };
          },
        };
      },
      async createPaymentMethod() {
        return { paymentMethod: { id: card.value, object: "payment_method" } };
      },
      async handleNextAction({ clientSecret }) {
        const answer = await fetch(origin + "/test/finish-action", { method: "POST", body: clientSecret });
        return answer.ok ? { paymentIntent: { status: "succeeded" } } : { error: { message: "failed" } };
      },
    };
  };
})();
"#;

async fn stand_in_stripe_js() -> Response {
    (
        [(axum::http::header::CONTENT_TYPE, "text/javascript")],
        STAND_IN_STRIPE_JS,
    )
        .into_response()
}

/// The stand-in's 3-D Secure: the customer passes the bank's challenge.
async fn finish_action_by_secret(State(ledger): State<Arc<Mutex<Ledger>>>, body: String) -> Response {
    let mut ledger = ledger.lock().expect("ledger");
    let found = ledger
        .intents
        .values()
        .find(|intent| intent["client_secret"] == body.as_str() && intent["status"] == "requires_action")
        .and_then(|intent| intent["id"].as_str().map(str::to_owned));
    let status = match found {
        Some(id) => {
            finish(&mut ledger, &id, true);
            StatusCode::OK
        }
        None => StatusCode::NOT_FOUND,
    };
    (status, [(axum::http::header::ACCESS_CONTROL_ALLOW_ORIGIN, "*")]).into_response()
}

async fn handle(
    State(ledger): State<Arc<Mutex<Ledger>>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form: BTreeMap<String, String> = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let key = header("idempotency-key");
    let path = uri.path().to_owned();
    let received = Received {
        method: method.to_string(),
        path: path.clone(),
        idempotency_key: key.clone(),
        stripe_version: header("stripe-version"),
        form: form.clone(),
    };
    let faults = {
        let mut ledger = ledger.lock().expect("ledger");
        ledger.received.push(received);
        ledger.faults
    };
    if header("authorization").as_deref() != Some(&format!("Bearer {SECRET_KEY}")) {
        let (status, body) = stripe_error(
            401,
            "invalid_request_error",
            "api_key_invalid",
            "Invalid API Key",
            json!({}),
        );
        return answer(status, body);
    }
    if method == Method::GET {
        if faults.reads_fail {
            return answer(
                500,
                json!({"error": {"type": "api_error", "message": "Stripe is down"}}),
            );
        }
        let ledger = ledger.lock().expect("ledger");
        let id = path.trim_start_matches("/v1/payment_intents/");
        return match ledger.intents.get(id) {
            Some(intent) => answer(200, intent.clone()),
            None => {
                let (status, body) = stripe_error(
                    404,
                    "invalid_request_error",
                    "resource_missing",
                    "No such payment_intent",
                    json!({}),
                );
                answer(status, body)
            }
        };
    }
    let fingerprint = format!("{path}?{}", String::from_utf8_lossy(&body));
    if let Some(key) = &key {
        let mut ledger = ledger.lock().expect("ledger");
        if ledger.in_flight.contains(key) {
            let (status, body) = stripe_error(
                409,
                "idempotency_error",
                "idempotency_key_in_use",
                "There is currently another in-progress request using this Idempotent Key",
                json!({}),
            );
            return answer(status, body);
        }
        if let Some((saved_fingerprint, status, body)) = ledger.saved.get(key) {
            if *saved_fingerprint != fingerprint {
                let (status, body) = stripe_error(
                    400,
                    "idempotency_error",
                    "idempotency_key_reused",
                    "Keys for idempotent requests can only be used with the same parameters they were first used with.",
                    json!({}),
                );
                return answer(status, body);
            }
            return answer(*status, body.clone());
        }
        ledger.in_flight.insert(key.clone());
    }
    let (status, body, charged) = {
        let mut ledger = ledger.lock().expect("ledger");
        apply(&mut ledger, &path, &form)
    };
    let (status, body) = match (charged, faults.error_after_charge) {
        (true, true) => (
            500,
            json!({"error": {"type": "api_error", "message": "An unknown error occurred"}}),
        ),
        _ => (status, body),
    };
    if charged && let Some(delay) = faults.delay_after_charge {
        tokio::time::sleep(delay).await;
    }
    if let Some(key) = key {
        let mut ledger = ledger.lock().expect("ledger");
        ledger.in_flight.remove(&key);
        ledger.saved.insert(key, (fingerprint, status, body.clone()));
    }
    answer(status, body)
}

fn answer(status: u16, body: Value) -> Response {
    (StatusCode::from_u16(status).expect("status"), axum::Json(body)).into_response()
}

/// Applies a POST; the flag says whether it was a confirmation that reached the card.
fn apply(ledger: &mut Ledger, path: &str, form: &BTreeMap<String, String>) -> (u16, Value, bool) {
    ledger.next_id += 1;
    let n = ledger.next_id;
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match segments.as_slice() {
        ["v1", "payment_intents"] => {
            let (Some(amount), Some(currency)) = (form.get("amount"), form.get("currency")) else {
                let (s, b) = stripe_error(
                    400,
                    "invalid_request_error",
                    "parameter_missing",
                    "Missing amount",
                    json!({}),
                );
                return (s, b, false);
            };
            let id = format!("pi_fake{n}");
            let intent = json!({
                "id": id, "object": "payment_intent",
                "amount": amount.parse::<i64>().unwrap_or(0), "amount_capturable": 0, "amount_received": 0,
                "currency": currency, "status": "requires_confirmation",
                "capture_method": form.get("capture_method").cloned().unwrap_or_else(|| "automatic".to_owned()),
                "client_secret": format!("{id}_secret_fake"),
                "payment_method": form.get("payment_method"),
                "metadata": {"backroom_payment_id": form.get("metadata[backroom_payment_id]")},
                "last_payment_error": null, "next_action": null, "latest_charge": null,
                "livemode": false, "created": now_seconds(),
            });
            ledger.intents.insert(id, intent.clone());
            (200, intent, false)
        }
        ["v1", "payment_intents", id, "confirm"] => confirm(ledger, id),
        ["v1", "payment_intents", id, "capture"] => {
            let Some(intent) = ledger.intents.get_mut(*id) else {
                return missing();
            };
            if intent["status"] != "requires_capture" {
                let (s, b) = unexpected_state(intent, "capture");
                return (s, b, false);
            }
            let amount = intent["amount"].as_i64().unwrap_or(0);
            intent["status"] = json!("succeeded");
            intent["amount_received"] = json!(amount);
            intent["amount_capturable"] = json!(0);
            let intent = intent.clone();
            ledger.movements.push(("capture".to_owned(), (*id).to_owned(), amount));
            (200, intent, false)
        }
        ["v1", "payment_intents", id, "cancel"] => {
            let Some(intent) = ledger.intents.get_mut(*id) else {
                return missing();
            };
            let cancelable = [
                "requires_payment_method",
                "requires_capture",
                "requires_confirmation",
                "requires_action",
            ];
            if !cancelable.iter().any(|status| intent["status"] == *status) {
                let (s, b) = unexpected_state(intent, "cancel");
                return (s, b, false);
            }
            intent["status"] = json!("canceled");
            intent["cancellation_reason"] = json!(form.get("cancellation_reason"));
            (200, intent.clone(), false)
        }
        ["v1", "refunds"] => {
            let intent_id = form.get("payment_intent").cloned().unwrap_or_default();
            let Some(intent) = ledger.intents.get(&intent_id) else {
                return missing();
            };
            let amount = form
                .get("amount")
                .and_then(|a| a.parse::<i64>().ok())
                .unwrap_or_else(|| intent["amount"].as_i64().unwrap_or(0));
            let currency = intent["currency"].clone();
            ledger.movements.push(("refund".to_owned(), intent_id.clone(), amount));
            let refund = json!({"id": format!("re_fake{n}"), "object": "refund", "amount": amount,
                "currency": currency, "payment_intent": intent_id, "status": "succeeded"});
            (200, refund, false)
        }
        _ => missing(),
    }
}

fn confirm(ledger: &mut Ledger, id: &str) -> (u16, Value, bool) {
    let Some(intent) = ledger.intents.get_mut(id) else {
        return missing();
    };
    if intent["status"] != "requires_confirmation" {
        let (s, b) = unexpected_state(intent, "confirm");
        return (s, b, false);
    }
    let amount = intent["amount"].as_i64().unwrap_or(0);
    let manual = intent["capture_method"] == "manual";
    let method = intent["payment_method"].as_str().unwrap_or_default().to_owned();
    let decline = |intent: &mut Value, decline_code: &str| {
        intent["status"] = json!("requires_payment_method");
        let error = json!({"type": "card_error", "code": "card_declined", "decline_code": decline_code,
            "message": "Your card was declined."});
        intent["last_payment_error"] = error.clone();
        let mut body = json!({ "error": error });
        body["error"]["payment_intent"] = intent.clone();
        (402, body, true)
    };
    match method.as_str() {
        "pm_card_visa" => {
            if manual {
                intent["status"] = json!("requires_capture");
                intent["amount_capturable"] = json!(amount);
            } else {
                intent["status"] = json!("succeeded");
                intent["amount_received"] = json!(amount);
            }
            let intent = intent.clone();
            if !manual {
                ledger.movements.push(("capture".to_owned(), id.to_owned(), amount));
            }
            (200, intent, true)
        }
        "pm_card_chargeDeclined" => decline(intent, "generic_decline"),
        "pm_card_chargeDeclinedInsufficientFunds" => decline(intent, "insufficient_funds"),
        "pm_card_threeDSecure2Required" => {
            intent["status"] = json!("requires_action");
            intent["next_action"] =
                json!({"type": "use_stripe_sdk", "use_stripe_sdk": {"type": "three_d_secure_redirect"}});
            (200, intent.clone(), true)
        }
        _ => {
            let (s, b) = stripe_error(
                400,
                "invalid_request_error",
                "resource_missing",
                &format!("No such PaymentMethod: '{method}'"),
                json!({"param": "payment_method"}),
            );
            (s, b, false)
        }
    }
}

fn missing() -> (u16, Value, bool) {
    let (s, b) = stripe_error(
        404,
        "invalid_request_error",
        "resource_missing",
        "No such object",
        json!({}),
    );
    (s, b, false)
}

fn unexpected_state(intent: &Value, action: &str) -> (u16, Value) {
    stripe_error(
        400,
        "invalid_request_error",
        "payment_intent_unexpected_state",
        &format!(
            "This PaymentIntent's {action} could not be done because it has a status of {}.",
            intent["status"]
        ),
        json!({ "payment_intent": intent }),
    )
}
