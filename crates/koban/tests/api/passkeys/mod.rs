//! Passkeys as a second factor, driven by a software authenticator written
//! here: ES256 keys, a "none" attestation in CBOR, authenticator data and
//! client data built by hand, so every check the server makes can be failed
//! on purpose.

use crate::security_pages::{location, Pages};
use crate::support::TestApp;
use base64::Engine;
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};
use reqwest::StatusCode;
use serde_cbor_2::Value as Cbor;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use sqlx::Row;
use std::collections::BTreeMap;

mod pages;
mod refusals;
mod registration;
mod unlock;

const PASSWORD: &str = "plum blossom 2026";
const RP_ID: &str = "koban.test";
const ORIGIN: &str = "https://koban.test";

fn configure(c: &mut koban::config::Config) {
    c.webauthn_rp_id = RP_ID.into();
    c.webauthn_origin = ORIGIN.into();
    // The bad-input scenario makes more wrong answers than the default lock allows.
    c.second_factor_lock_after_failures = 100;
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn unb64(text: &str) -> Vec<u8> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text)
        .expect("base64url")
}

fn sha256(data: &[u8]) -> Vec<u8> {
    Sha256::digest(data).to_vec()
}

/// ASN.1 DER of an ECDSA signature from its 32-byte r and s.
fn der_signature(raw: &[u8]) -> Vec<u8> {
    fn integer(bytes: &[u8]) -> Vec<u8> {
        let mut v: Vec<u8> = bytes.iter().copied().skip_while(|b| *b == 0).collect();
        if v.first().is_none_or(|b| *b & 0x80 != 0) {
            v.insert(0, 0);
        }
        let mut out = vec![0x02, v.len() as u8];
        out.extend(v);
        out
    }
    let mut body = integer(&raw[..32]);
    body.extend(integer(&raw[32..]));
    let mut out = vec![0x30, body.len() as u8];
    out.extend(body);
    out
}

/// What a test wants an authenticator to get wrong.
#[derive(Debug, Clone, Default)]
struct Twist {
    challenge: Option<String>,
    origin: Option<String>,
    rp_id: Option<String>,
    counter: Option<u32>,
    /// Leave out the user-verified flag.
    no_uv: bool,
}

/// A platform authenticator holding one ES256 credential.
struct Authenticator {
    key: SigningKey,
    credential_id: Vec<u8>,
    counter: u32,
}

impl Authenticator {
    fn new() -> Authenticator {
        let secret: [u8; 32] = rand::random();
        Authenticator {
            key: SigningKey::from_slice(&secret).expect("a P-256 scalar"),
            credential_id: rand::random::<[u8; 32]>().to_vec(),
            counter: 0,
        }
    }

    fn client_data(kind: &str, options: &Value, twist: &Twist) -> Vec<u8> {
        let challenge = twist.challenge.clone().unwrap_or_else(|| {
            options["publicKey"]["challenge"]
                .as_str()
                .expect("challenge")
                .to_string()
        });
        json!({
            "type": kind,
            "challenge": challenge,
            "origin": twist.origin.as_deref().unwrap_or(ORIGIN),
            "crossOrigin": false,
        })
        .to_string()
        .into_bytes()
    }

    fn auth_data(&self, twist: &Twist, attested: bool) -> Vec<u8> {
        let rp_id = twist.rp_id.as_deref().unwrap_or(RP_ID);
        let mut data = sha256(rp_id.as_bytes());
        // UP, UV, and AT when a credential is attached.
        let mut flags = 0x01 | if twist.no_uv { 0 } else { 0x04 };
        if attested {
            flags |= 0x40;
        }
        data.push(flags);
        data.extend(twist.counter.unwrap_or(self.counter).to_be_bytes());
        if attested {
            data.extend([0u8; 16]);
            data.extend((self.credential_id.len() as u16).to_be_bytes());
            data.extend(&self.credential_id);
            let point = self.key.verifying_key().to_sec1_point(false);
            let point = point.as_bytes();
            let mut cose = BTreeMap::new();
            cose.insert(Cbor::Integer(1), Cbor::Integer(2));
            cose.insert(Cbor::Integer(3), Cbor::Integer(-7));
            cose.insert(Cbor::Integer(-1), Cbor::Integer(1));
            cose.insert(Cbor::Integer(-2), Cbor::Bytes(point[1..33].to_vec()));
            cose.insert(Cbor::Integer(-3), Cbor::Bytes(point[33..65].to_vec()));
            data.extend(serde_cbor_2::to_vec(&Cbor::Map(cose)).expect("cbor"));
        }
        data
    }

    /// `navigator.credentials.create()`: the registration answer.
    fn create(&self, options: &Value, twist: &Twist) -> Value {
        let client_data = Self::client_data("webauthn.create", options, twist);
        let mut attestation = BTreeMap::new();
        attestation.insert(Cbor::Text("fmt".into()), Cbor::Text("none".into()));
        attestation.insert(Cbor::Text("attStmt".into()), Cbor::Map(BTreeMap::new()));
        attestation.insert(
            Cbor::Text("authData".into()),
            Cbor::Bytes(self.auth_data(twist, true)),
        );
        json!({
            "id": b64(&self.credential_id),
            "rawId": b64(&self.credential_id),
            "type": "public-key",
            "response": {
                "attestationObject": b64(&serde_cbor_2::to_vec(&Cbor::Map(attestation)).expect("cbor")),
                "clientDataJSON": b64(&client_data),
                "transports": ["internal"],
            },
            "extensions": {},
        })
    }

    /// `navigator.credentials.get()`: an assertion, signed over
    /// authenticatorData || SHA-256(clientDataJSON). Moves the counter on.
    fn get(&mut self, options: &Value, twist: &Twist) -> Value {
        self.counter += 1;
        let client_data = Self::client_data("webauthn.get", options, twist);
        let auth_data = self.auth_data(twist, false);
        let mut signed = auth_data.clone();
        signed.extend(sha256(&client_data));
        let signature: Signature = self.key.sign(&signed);
        json!({
            "id": b64(&self.credential_id),
            "rawId": b64(&self.credential_id),
            "type": "public-key",
            "response": {
                "authenticatorData": b64(&auth_data),
                "clientDataJSON": b64(&client_data),
                "signature": b64(&der_signature(&signature.to_bytes())),
                "userHandle": null,
            },
            "extensions": {},
        })
    }
}

async fn sign_in(t: &TestApp, identifier: &str) -> (StatusCode, Value) {
    t.post(
        "/api/v1/sessions",
        json!({ "identifier": identifier, "password": PASSWORD }),
    )
    .await
}

/// Passes step-up with a code to the verified email (an account without 2FA).
async fn step_up_with_code(t: &TestApp, token: &str, email: &str) {
    let (status, body) = t.post_as(token, "/api/v1/me/step-up/code", json!({})).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let code = t.latest_code(email).await;
    let (status, body) = t
        .post_as(
            token,
            "/api/v1/me/step-up",
            json!({ "method": "code", "code": code }),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
}

/// Registers a passkey made by `authenticator`; returns the answer body.
async fn register(t: &TestApp, token: &str, authenticator: &Authenticator, name: &str) -> Value {
    let (status, options) = t
        .post_as(token, "/api/v1/me/passkeys/options", json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{options}");
    let (status, added) = t
        .post_as(
            token,
            "/api/v1/me/passkeys",
            json!({
                "ceremony": options["ceremony"],
                "name": name,
                "credential": authenticator.create(&options["options"], &Twist::default()),
            }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{added}");
    added
}

/// A signed-up account with one registered passkey: (token, authenticator).
async fn with_passkey(t: &TestApp, email: &str) -> (String, Authenticator) {
    let token = t.signed_up(email, PASSWORD).await;
    step_up_with_code(t, &token, email).await;
    let authenticator = Authenticator::new();
    register(t, &token, &authenticator, "Laptop").await;
    (token, authenticator)
}

async fn sign_in_options(t: &TestApp, challenge: &Value) -> Value {
    let (status, options) = t
        .post(
            "/api/v1/sessions/second-factor/passkey/options",
            json!({ "challenge": challenge }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{options}");
    options
}

async fn finish_sign_in(
    t: &TestApp,
    challenge: &Value,
    ceremony: &Value,
    credential: Value,
) -> (StatusCode, Value) {
    t.post(
        "/api/v1/sessions/second-factor/passkey",
        json!({ "challenge": challenge, "ceremony": ceremony, "credential": credential }),
    )
    .await
}

/// What a refused answer must not have changed: the passkeys' rows and the sessions.
async fn snapshot(t: &TestApp) -> (Vec<(i64, i64, String, Option<i64>)>, i64) {
    let rows =
        sqlx::query("SELECT id, sign_count, credential, last_used_at FROM passkeys ORDER BY id")
            .fetch_all(t.app.store.read())
            .await
            .expect("passkeys");
    let passkeys = rows
        .iter()
        .map(|r| {
            (
                r.try_get("id").expect("id"),
                r.try_get("sign_count").expect("count"),
                r.try_get("credential").expect("credential"),
                r.try_get("last_used_at").expect("last use"),
            )
        })
        .collect();
    (passkeys, t.count("sessions").await)
}

fn field_error(body: &Value) -> (String, String) {
    let error = &body["errors"][0];
    (
        error["field"].as_str().unwrap_or_default().to_string(),
        error["code"].as_str().unwrap_or_default().to_string(),
    )
}

async fn events(t: &TestApp, token: &str) -> Vec<String> {
    let (status, body) = t.get(Some(token), "/api/v1/me/security-events").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|e| e["kind"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// A wrong answer to a sign-in's passkey options.
#[derive(Debug, Clone, Copy)]
enum Bad {
    WrongChallenge,
    WrongOrigin,
    WrongRpId,
    NotVerified,
    Unknown,
    AnotherAccounts,
    MalformedJson,
    MalformedBase64,
    ForgedSignature,
}

impl Bad {
    fn answer(
        self,
        options: &Value,
        mine: &mut Authenticator,
        theirs: &mut Authenticator,
        stranger: &mut Authenticator,
    ) -> Value {
        let twist = |f: fn(&mut Twist)| {
            let mut twist = Twist::default();
            f(&mut twist);
            twist
        };
        match self {
            Bad::WrongChallenge => mine.get(
                options,
                &twist(|t| t.challenge = Some(b64(b"not the challenge the server sent"))),
            ),
            Bad::WrongOrigin => mine.get(
                options,
                &twist(|t| t.origin = Some("https://koban.evil".into())),
            ),
            Bad::WrongRpId => mine.get(options, &twist(|t| t.rp_id = Some("evil.test".into()))),
            Bad::NotVerified => mine.get(options, &twist(|t| t.no_uv = true)),
            Bad::Unknown => stranger.get(options, &Twist::default()),
            Bad::AnotherAccounts => theirs.get(options, &Twist::default()),
            Bad::MalformedJson => json!({ "id": 5 }),
            Bad::MalformedBase64 => {
                let mut answer = mine.get(options, &Twist::default());
                answer["response"]["signature"] = json!("!!not base64!!");
                answer
            }
            Bad::ForgedSignature => {
                let mut answer = mine.get(options, &Twist::default());
                let mut signature =
                    unb64(answer["response"]["signature"].as_str().unwrap_or_default());
                let last = signature.len() - 1;
                signature[last] ^= 1;
                answer["response"]["signature"] = json!(b64(&signature));
                answer
            }
        }
    }
}
fn configure_quick_lock(c: &mut koban::config::Config) {
    configure(c);
    c.second_factor_lock_after_failures = 2;
}

/// POSTs JSON as the pages' script does: session cookie and CSRF header.
async fn script_post(p: &mut Pages, path: &str) -> (StatusCode, Value) {
    let response = p
        .http
        .post(format!("{}{path}", p.base))
        .header(reqwest::header::COOKIE, p.cookie_header())
        .header("x-csrf-token", p.csrf())
        .json(&json!({}))
        .send()
        .await
        .expect("post");
    p.keep(&response);
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}
