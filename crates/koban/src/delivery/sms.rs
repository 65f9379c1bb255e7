//! SMS through an HTTP provider: a JSON body signed with HMAC-SHA256, and a
//! signed delivery-status callback coming back.

use crate::crypto::hmac_hex;

/// Header carrying `sha256=<hex>` of the body, both ways.
pub const SIGNATURE_HEADER: &str = "x-koban-signature";

/// Posts messages to the configured provider.
pub struct SmsSender {
    client: reqwest::Client,
    url: String,
    secret: String,
    sender_id: String,
}

impl SmsSender {
    /// Builds the sender from `sms_*` settings.
    pub fn from_config(config: &crate::config::Config) -> SmsSender {
        SmsSender {
            client: reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(15))
                .build()
                .unwrap_or_default(),
            url: config.sms_url.clone(),
            secret: config.sms_secret.clone(),
            sender_id: config.sms_sender_id.clone(),
        }
    }

    /// Sends one SMS; returns the provider's message id.
    pub async fn send(&self, to: &str, text: &str, reference: &str) -> Result<String, String> {
        if self.url.is_empty() {
            return Err("no SMS provider is configured (sms_url)".into());
        }
        let body = serde_json::json!({ "to": to, "from": self.sender_id, "text": text, "reference": reference }).to_string();
        let response = self
            .client
            .post(&self.url)
            .header("content-type", "application/json")
            .header("idempotency-key", reference)
            .header(
                SIGNATURE_HEADER,
                format!(
                    "sha256={}",
                    hmac_hex(self.secret.as_bytes(), body.as_bytes())
                ),
            )
            .body(body)
            .send()
            .await
            .map_err(|e| format!("SMS provider unreachable: {e}"))?;
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        if !status.is_success() {
            return Err(format!(
                "SMS provider answered {status}: {}",
                text.chars().take(200).collect::<String>()
            ));
        }
        let id = serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .and_then(|v| v.get("id").and_then(|i| i.as_str().map(str::to_string)))
            .unwrap_or_else(|| reference.to_string());
        Ok(id)
    }

    /// Checks a callback's signature in constant time.
    pub fn verify_callback(&self, body: &[u8], header: Option<&str>) -> bool {
        if self.secret.is_empty() {
            return false;
        }
        let expected = format!("sha256={}", hmac_hex(self.secret.as_bytes(), body));
        header.is_some_and(|h| {
            crate::crypto::constant_time_eq(h.trim().as_bytes(), expected.as_bytes())
        })
    }
}
