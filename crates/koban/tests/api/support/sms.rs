//! A fake SMS provider: receives signed requests and can call back with
//! delivery reports.

use super::*;

/// One message the [`SmsProvider`] accepted.
#[derive(Debug, Clone)]
pub struct SmsReceived {
    pub id: String,
    pub to: String,
    pub from: String,
    pub text: String,
    pub reference: String,
    pub idempotency_key: String,
}

#[derive(Default)]
struct SmsState {
    messages: Vec<SmsReceived>,
    /// Requests refused for a missing or wrong signature.
    bad_signatures: usize,
    /// Requests repeated with a key already seen (answered, not re-sent).
    repeats: usize,
    /// Answer every send with this status instead of accepting it.
    fail_with: Option<u16>,
}

/// A mock SMS provider speaking Koban's protocol: JSON POST signed with
/// HMAC-SHA256 in `X-Koban-Signature: sha256=<hex>`, deduplicated on
/// `Idempotency-Key`, answering `{"id": …}`.
pub struct SmsProvider {
    pub url: String,
    pub secret: String,
    state: Arc<std::sync::Mutex<SmsState>>,
    task: tokio::task::JoinHandle<()>,
}

/// The `X-Koban-Signature` value for `body` under `secret`.
pub fn sms_signature(secret: &str, body: &[u8]) -> String {
    format!(
        "sha256={}",
        koban::crypto::hmac_hex(secret.as_bytes(), body)
    )
}

impl SmsProvider {
    /// Starts on a free port with `secret`.
    pub async fn start(secret: &str) -> SmsProvider {
        use axum::http::{HeaderMap, StatusCode as Code};
        let state = Arc::new(std::sync::Mutex::new(SmsState::default()));
        let shared = state.clone();
        let key = secret.to_string();
        let router = axum::Router::new().route(
            "/messages",
            axum::routing::post(move |headers: HeaderMap, body: axum::body::Bytes| {
                let state = shared.clone();
                let key = key.clone();
                async move {
                    let signed = headers
                        .get("x-koban-signature")
                        .and_then(|v| v.to_str().ok())
                        .is_some_and(|v| v == sms_signature(&key, &body));
                    let mut state = state.lock().expect("sms state");
                    if !signed {
                        state.bad_signatures += 1;
                        return (
                            Code::UNAUTHORIZED,
                            r#"{"error":"bad signature"}"#.to_string(),
                        );
                    }
                    let Some(idempotency_key) = headers
                        .get("idempotency-key")
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_string)
                    else {
                        return (
                            Code::BAD_REQUEST,
                            r#"{"error":"Idempotency-Key required"}"#.into(),
                        );
                    };
                    if let Some(status) = state.fail_with {
                        let code = Code::from_u16(status).unwrap_or(Code::INTERNAL_SERVER_ERROR);
                        return (code, r#"{"error":"provider says no"}"#.into());
                    }
                    if let Some(seen) = state
                        .messages
                        .iter()
                        .find(|m| m.idempotency_key == idempotency_key)
                    {
                        let id = seen.id.clone();
                        state.repeats += 1;
                        return (Code::OK, serde_json::json!({ "id": id }).to_string());
                    }
                    let Ok(json) = serde_json::from_slice::<Value>(&body) else {
                        return (Code::BAD_REQUEST, r#"{"error":"not JSON"}"#.into());
                    };
                    let field = |k: &str| json[k].as_str().unwrap_or_default().to_string();
                    let id = format!("prov-{}", state.messages.len() + 1);
                    state.messages.push(SmsReceived {
                        id: id.clone(),
                        to: field("to"),
                        from: field("from"),
                        text: field("text"),
                        reference: field("reference"),
                        idempotency_key,
                    });
                    (Code::OK, serde_json::json!({ "id": id }).to_string())
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind sms");
        let url = format!("http://{}/messages", listener.local_addr().expect("addr"));
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        SmsProvider {
            url,
            secret: secret.to_string(),
            state,
            task,
        }
    }

    /// Points `config` at this provider in live mode.
    pub fn configure(&self, config: &mut Config) {
        config.delivery_mode = "live".into();
        config.sms_url = self.url.clone();
        config.sms_secret = self.secret.clone();
        config.sms_sender_id = "KobanTest".into();
    }

    /// Answer every send with `status` (None: accept again).
    pub fn fail_with(&self, status: Option<u16>) {
        self.state.lock().expect("sms state").fail_with = status;
    }

    /// Every message accepted so far (each idempotency key once).
    pub fn messages(&self) -> Vec<SmsReceived> {
        self.state.lock().expect("sms state").messages.clone()
    }

    /// Requests refused for their signature.
    pub fn bad_signatures(&self) -> usize {
        self.state.lock().expect("sms state").bad_signatures
    }

    /// Sends repeated with a key already seen.
    pub fn repeats(&self) -> usize {
        self.state.lock().expect("sms state").repeats
    }

    /// Waits until at least `n` messages arrived; returns them all.
    pub async fn wait_for_messages(&self, n: usize) -> Vec<SmsReceived> {
        eventually(&format!("{n} SMS message(s)"), || async {
            let messages = self.messages();
            (messages.len() >= n).then_some(messages)
        })
        .await
    }
}

impl Drop for SmsProvider {
    fn drop(&mut self) {
        self.task.abort();
    }
}
