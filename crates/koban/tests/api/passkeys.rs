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

async fn passkey_registers_signs_in_steps_up_and_goes(t: TestApp) {
    let email = "pk@example.com";
    let token = t.signed_up(email, PASSWORD).await;
    // Adding a passkey needs a fresh step-up, like any change to how the account is protected.
    let (status, body) = t
        .post_as(&token, "/api/v1/me/passkeys/options", json!({}))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["type"], "/problems/step-up-required");
    step_up_with_code(&t, &token, email).await;

    let (status, options) = t
        .post_as(&token, "/api/v1/me/passkeys/options", json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{options}");
    let public_key = &options["options"]["publicKey"];
    assert_eq!(public_key["rp"]["id"], RP_ID);
    assert_eq!(public_key["user"]["name"], email);
    assert_eq!(
        public_key["authenticatorSelection"]["userVerification"],
        "required"
    );
    let authenticator = Authenticator::new();
    let (status, added) = t
        .post_as(
            &token,
            "/api/v1/me/passkeys",
            json!({
                "ceremony": options["ceremony"],
                "name": "Work laptop",
                "credential": authenticator.create(&options["options"], &Twist::default()),
            }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{added}");
    assert_eq!(added["passkey"]["name"], "Work laptop");
    // The first second factor turns 2FA on and comes with recovery codes.
    assert_eq!(added["recovery_codes"].as_array().map(Vec::len), Some(10));
    let (_, list) = t.get(Some(&token), "/api/v1/me/passkeys").await;
    assert_eq!(list.as_array().map(Vec::len), Some(1), "{list}");
    assert!(list[0]["last_used_at"].is_null());
    let (_, reminders) = t.get(Some(&token), "/api/v1/me/reminders").await;
    assert!(
        !reminders.to_string().contains("enable_two_factor"),
        "{reminders}"
    );

    // Sign-in now owes a second factor, and a passkey is one.
    let (status, pending) = sign_in(&t, email).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{pending}");
    assert_eq!(pending["methods"], json!(["passkey", "recovery_code"]));
    let challenge = &pending["challenge"];
    let options = sign_in_options(&t, challenge).await;
    let allowed = &options["options"]["publicKey"]["allowCredentials"];
    assert_eq!(allowed[0]["id"], b64(&authenticator.credential_id));
    let mut authenticator = authenticator;
    let assertion = authenticator.get(&options["options"], &Twist::default());
    let (status, done) = finish_sign_in(&t, challenge, &options["ceremony"], assertion).await;
    assert_eq!(status, StatusCode::CREATED, "{done}");
    assert_eq!(done["status"], "signed_in");
    let session = done["session"]["token"]
        .as_str()
        .expect("token")
        .to_string();
    let (_, list) = t.get(Some(&session), "/api/v1/me/passkeys").await;
    assert!(list[0]["last_used_at"].is_i64(), "{list}");
    let row = sqlx::query("SELECT sign_count FROM passkeys")
        .fetch_one(t.app.store.read())
        .await
        .expect("row");
    assert_eq!(row.try_get::<i64, _>("sign_count").expect("count"), 1);

    // Step-up with a passkey, then the sensitive changes it guards.
    let (status, body) = t.delete(&session, "/api/v1/me/2fa").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, options) = t
        .post_as(&session, "/api/v1/me/step-up/passkey/options", json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{options}");
    let assertion = authenticator.get(&options["options"], &Twist::default());
    let (status, body) = t
        .post_as(
            &session,
            "/api/v1/me/step-up/passkey",
            json!({ "ceremony": options["ceremony"], "credential": assertion }),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    // A TOTP code cannot stand in for a passkey the account has not got.
    let (status, body) = t
        .post_as(
            &session,
            "/api/v1/me/step-up",
            json!({ "method": "totp", "code": "123456" }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");

    let id = list[0]["id"].as_i64().expect("id");
    let request = t
        .http
        .patch(t.url(&format!("/api/v1/me/passkeys/{id}")))
        .bearer_auth(&session)
        .json(&json!({ "name": "Old laptop" }));
    let (status, body) = t.send(request).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let request = t
        .http
        .patch(t.url(&format!("/api/v1/me/passkeys/{id}")))
        .bearer_auth(&session)
        .json(&json!({ "name": " " }));
    let (status, body) = t.send(request).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(field_error(&body).0, "name");
    let (_, list) = t.get(Some(&session), "/api/v1/me/passkeys").await;
    assert_eq!(list[0]["name"], "Old laptop");

    // Removing the last second factor turns 2FA off: recovery codes die too.
    let (status, body) = t
        .delete(&session, &format!("/api/v1/me/passkeys/{id}"))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert_eq!(t.count("passkeys").await, 0);
    assert_eq!(t.count("recovery_codes").await, 0);
    let kinds = events(&t, &session).await;
    for kind in [
        "passkey_added",
        "two_factor_enabled",
        "passkey_renamed",
        "passkey_removed",
        "two_factor_disabled",
    ] {
        assert!(kinds.iter().any(|k| k == kind), "{kind} in {kinds:?}");
    }
    let (status, done) = sign_in(&t, email).await;
    assert_eq!(status, StatusCode::CREATED, "{done}");
}
both!(
    passkey_registers_signs_in_steps_up_and_goes,
    super::configure
);

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

async fn bad_passkey_answers_are_refused_and_change_nothing(t: TestApp) {
    let (token, mut mine) = with_passkey(&t, "a@example.com").await;
    let (_, mut theirs) = with_passkey(&t, "b@example.com").await;
    let (status, pending) = sign_in(&t, "a@example.com").await;
    assert_eq!(status, StatusCode::ACCEPTED, "{pending}");
    let challenge = pending["challenge"].clone();
    let before = snapshot(&t).await;

    // Each wrong answer gets its own fresh ceremony and is refused naming the field.
    let mut stranger = Authenticator::new();
    let cases = [
        (Bad::WrongChallenge, "passkey_challenge"),
        (Bad::WrongOrigin, "passkey_origin"),
        (Bad::WrongRpId, "passkey_rp_id"),
        (Bad::NotVerified, "passkey_user_verification"),
        (Bad::Unknown, "passkey_unknown"),
        (Bad::AnotherAccounts, "passkey_unknown"),
        (Bad::MalformedJson, "passkey_malformed"),
        (Bad::MalformedBase64, "passkey_malformed"),
        (Bad::ForgedSignature, "passkey_invalid"),
    ];
    for (what, code) in cases {
        let options = sign_in_options(&t, &challenge).await;
        let credential = what.answer(&options["options"], &mut mine, &mut theirs, &mut stranger);
        let (status, body) = finish_sign_in(&t, &challenge, &options["ceremony"], credential).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{what:?}: {body}");
        assert_eq!(
            field_error(&body),
            ("credential".to_string(), code.to_string()),
            "{what:?}: {body}"
        );
        assert_eq!(snapshot(&t).await, before, "{what:?} changed nothing");
    }
    // Wrong passkeys are recorded and counted like wrong codes; malformed bodies are neither.
    let failed =
        sqlx::query("SELECT COUNT(*) AS n FROM login_attempts WHERE outcome = 'passkey_failed'")
            .fetch_one(t.app.store.read())
            .await
            .expect("count")
            .try_get::<i64, _>("n")
            .expect("n");
    assert_eq!(failed, 7);

    // Not JSON at all, and a ceremony that is not one.
    let request = t
        .http
        .post(t.url("/api/v1/sessions/second-factor/passkey"))
        .header("content-type", "application/json")
        .body("{\"challenge\": ");
    let (status, body) = t.send(request).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let options = sign_in_options(&t, &challenge).await;
    let answer = mine.get(&options["options"], &Twist::default());
    let (status, body) = finish_sign_in(&t, &challenge, &json!("kbw_forged"), answer.clone()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(
        field_error(&body),
        ("ceremony".into(), "invalid_value".into())
    );
    let (status, body) = finish_sign_in(&t, &challenge, &json!(42), answer.clone()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(field_error(&body).0, "ceremony");

    // An expired ceremony.
    t.exec("UPDATE webauthn_ceremonies SET expires_at = 1")
        .await;
    let (status, body) = finish_sign_in(&t, &challenge, &options["ceremony"], answer.clone()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(
        field_error(&body),
        ("ceremony".into(), "ceremony_expired".into())
    );
    assert_eq!(
        snapshot(&t).await,
        before,
        "an expired ceremony changed nothing"
    );

    // A ceremony used once (even by a wrong answer) is not used again.
    let options = sign_in_options(&t, &challenge).await;
    let wrong = theirs.get(&options["options"], &Twist::default());
    let (status, _) = finish_sign_in(&t, &challenge, &options["ceremony"], wrong).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let good = mine.get(&options["options"], &Twist::default());
    let (status, body) = finish_sign_in(&t, &challenge, &options["ceremony"], good).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(
        field_error(&body),
        ("ceremony".into(), "ceremony_used".into())
    );
    assert_eq!(
        snapshot(&t).await,
        before,
        "a used ceremony changed nothing"
    );

    // A ceremony of this sign-in does not serve another sign-in, even of the same account.
    let (_, other) = sign_in(&t, "a@example.com").await;
    let options = sign_in_options(&t, &challenge).await;
    let good = mine.get(&options["options"], &Twist::default());
    let (status, body) = finish_sign_in(&t, &other["challenge"], &options["ceremony"], good).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(
        field_error(&body),
        ("ceremony".into(), "invalid_value".into())
    );

    // Two ceremonies open; the later count lands first, so the earlier,
    // lower one is a counter going backwards: a cloned authenticator.
    let first = sign_in_options(&t, &challenge).await;
    let second = sign_in_options(&t, &challenge).await;
    let low = mine.get(&first["options"], &Twist::default());
    mine.counter += 5;
    let high = mine.get(&second["options"], &Twist::default());
    let (status, done) = finish_sign_in(&t, &challenge, &second["ceremony"], high.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{done}");
    let after_success = snapshot(&t).await;
    let (status, pending) = sign_in(&t, "a@example.com").await;
    assert_eq!(status, StatusCode::ACCEPTED, "{pending}");
    let fresh_challenge = pending["challenge"].clone();
    let (status, body) = finish_sign_in(&t, &challenge, &first["ceremony"], low).await;
    // The first sign-in is finished: its challenge is gone.
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(field_error(&body).0, "challenge");
    let options = sign_in_options(&t, &fresh_challenge).await;
    let regressed = mine.get(
        &options["options"],
        &Twist {
            counter: Some(2),
            ..Twist::default()
        },
    );
    let (status, body) =
        finish_sign_in(&t, &fresh_challenge, &options["ceremony"], regressed).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(
        field_error(&body),
        ("credential".into(), "passkey_counter".into())
    );
    // The very same assertion replayed is refused too (its challenge was used).
    let options = sign_in_options(&t, &fresh_challenge).await;
    let (status, body) = finish_sign_in(&t, &fresh_challenge, &options["ceremony"], high).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(
        field_error(&body),
        ("credential".into(), "passkey_challenge".into())
    );
    assert_eq!(
        snapshot(&t).await,
        after_success,
        "refused replays changed nothing"
    );

    // Two step-up ceremonies begun together: each remembers the counter as it
    // was. Once the later one moved it far ahead, the earlier one's count,
    // though above what that ceremony remembers, is behind and refused.
    let begin = || async {
        let (status, options) = t
            .post_as(&token, "/api/v1/me/step-up/passkey/options", json!({}))
            .await;
        assert_eq!(status, StatusCode::OK, "{options}");
        options
    };
    let early = begin().await;
    let late = begin().await;
    let base = mine.counter;
    let behind = mine.get(
        &early["options"],
        &Twist {
            counter: Some(base + 1),
            ..Twist::default()
        },
    );
    mine.counter = base + 9;
    let ahead = mine.get(&late["options"], &Twist::default());
    let (status, body) = t
        .post_as(
            &token,
            "/api/v1/me/step-up/passkey",
            json!({ "ceremony": late["ceremony"], "credential": ahead }),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let stepped = snapshot(&t).await;
    let (status, body) = t
        .post_as(
            &token,
            "/api/v1/me/step-up/passkey",
            json!({ "ceremony": early["ceremony"], "credential": behind }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(
        field_error(&body),
        ("credential".into(), "passkey_counter".into())
    );
    assert_eq!(snapshot(&t).await, stepped);
    assert!(events(&t, &token)
        .await
        .iter()
        .any(|k| k == "passkey_counter_regressed"));
    // Finishing a step-up twice: the second is refused.
    let (status, body) = t
        .post_as(
            &token,
            "/api/v1/me/step-up/passkey",
            json!({ "ceremony": late["ceremony"], "credential": mine.get(&late["options"], &Twist::default()) }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(
        field_error(&body),
        ("ceremony".into(), "ceremony_used".into())
    );
}
both!(
    bad_passkey_answers_are_refused_and_change_nothing,
    super::configure
);

async fn bad_registrations_are_refused_and_change_nothing(t: TestApp) {
    let (token, mine) = with_passkey(&t, "a@example.com").await;
    let (other_token, _) = with_passkey(&t, "b@example.com").await;
    let before = snapshot(&t).await;
    let newcomer = Authenticator::new();
    let (app, bearer) = (&t, &token);
    let begin = || async {
        let (status, options) = app
            .post_as(bearer, "/api/v1/me/passkeys/options", json!({}))
            .await;
        assert_eq!(status, StatusCode::OK, "{options}");
        options
    };
    let finish = |ceremony: Value, name: &str, credential: Value| {
        let body = json!({ "ceremony": ceremony, "name": name, "credential": credential });
        async move { app.post_as(bearer, "/api/v1/me/passkeys", body).await }
    };
    let cases: Vec<(&str, Twist, &str, &str)> = vec![
        (
            "wrong challenge",
            Twist {
                challenge: Some(b64(b"another challenge")),
                ..Twist::default()
            },
            "credential",
            "passkey_challenge",
        ),
        (
            "wrong origin",
            Twist {
                origin: Some("https://koban.evil".into()),
                ..Twist::default()
            },
            "credential",
            "passkey_origin",
        ),
        (
            "wrong rp id",
            Twist {
                rp_id: Some("evil.test".into()),
                ..Twist::default()
            },
            "credential",
            "passkey_rp_id",
        ),
    ];
    for (what, twist, field, code) in cases {
        let options = begin().await;
        let credential = newcomer.create(&options["options"], &twist);
        let (status, body) = finish(options["ceremony"].clone(), "New", credential).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{what}: {body}");
        assert_eq!(
            field_error(&body),
            (field.to_string(), code.to_string()),
            "{what}"
        );
        assert_eq!(snapshot(&t).await, before, "{what} changed nothing");
    }
    // A name is needed, and a body that is a credential.
    let options = begin().await;
    let (status, body) = finish(
        options["ceremony"].clone(),
        "",
        newcomer.create(&options["options"], &Twist::default()),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(field_error(&body), ("name".into(), "empty".into()));
    let (status, body) = finish(options["ceremony"].clone(), "New", json!("nope")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(
        field_error(&body),
        ("credential".into(), "passkey_malformed".into())
    );
    // The same authenticator again on this account, then on another: refused.
    let (status, body) = finish(
        options["ceremony"].clone(),
        "Again",
        mine.create(&options["options"], &Twist::default()),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(field_error(&body), ("credential".into(), "taken".into()));
    let (status, options) = t
        .post_as(&other_token, "/api/v1/me/passkeys/options", json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{options}");
    let (status, body) = t
        .post_as(
            &other_token,
            "/api/v1/me/passkeys",
            json!({
                "ceremony": options["ceremony"],
                "name": "Borrowed",
                "credential": mine.create(&options["options"], &Twist::default()),
            }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(field_error(&body), ("credential".into(), "taken".into()));
    // Another account's ceremony does not serve this one.
    let (status, body) = finish(
        options["ceremony"].clone(),
        "Stolen",
        newcomer.create(&options["options"], &Twist::default()),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(
        field_error(&body),
        ("ceremony".into(), "invalid_value".into())
    );
    assert_eq!(snapshot(&t).await, before);
    // Finishing twice: the second is refused and adds nothing.
    let options = begin().await;
    let credential = newcomer.create(&options["options"], &Twist::default());
    let (status, body) = finish(options["ceremony"].clone(), "New", credential.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert!(
        body.get("recovery_codes").is_none(),
        "2FA was already on: {body}"
    );
    let (status, body) = finish(options["ceremony"].clone(), "New", credential).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(
        field_error(&body),
        ("ceremony".into(), "ceremony_used".into())
    );
    assert_eq!(t.count("passkeys").await, 3);
}
both!(
    bad_registrations_are_refused_and_change_nothing,
    super::configure
);

async fn wrong_passkeys_lock_the_second_factor(t: TestApp) {
    let (_, mut mine) = with_passkey(&t, "a@example.com").await;
    let (_, pending) = sign_in(&t, "a@example.com").await;
    let challenge = pending["challenge"].clone();
    let wrong_origin = Twist {
        origin: Some("https://koban.evil".into()),
        ..Twist::default()
    };
    for _ in 0..2 {
        let options = sign_in_options(&t, &challenge).await;
        let answer = mine.get(&options["options"], &wrong_origin);
        let (status, _) = finish_sign_in(&t, &challenge, &options["ceremony"], answer).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    }
    // Now even the right passkey waits out the lock, as a right code would.
    let options = sign_in_options(&t, &challenge).await;
    let answer = mine.get(&options["options"], &Twist::default());
    let (status, body) = finish_sign_in(&t, &challenge, &options["ceremony"], answer).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["type"], "/problems/second-factor-locked");
    let outcomes: Vec<String> = sqlx::query(
        "SELECT outcome FROM login_attempts WHERE outcome IN ('passkey_failed', 'second_factor_locked') ORDER BY id",
    )
    .fetch_all(t.app.store.read())
    .await
    .expect("attempts")
    .iter()
    .map(|r| r.try_get("outcome").expect("outcome"))
    .collect();
    assert_eq!(
        outcomes,
        ["passkey_failed", "passkey_failed", "second_factor_locked"]
    );
    assert_eq!(t.count("sessions").await, 1, "only the sign-up session");
}
fn configure_quick_lock(c: &mut koban::config::Config) {
    configure(c);
    c.second_factor_lock_after_failures = 2;
}
both!(
    wrong_passkeys_lock_the_second_factor,
    super::configure_quick_lock
);

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

async fn passkey_pages_sign_in_step_up_and_remove(t: TestApp) {
    let email = "pages@example.com";
    let (_, mut authenticator) = with_passkey(&t, email).await;
    let mut p = Pages::new(&t).await;
    let response = p.sign_in(email, PASSWORD).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(location(&response).starts_with("/signin/second-factor"));
    let page = p
        .get("/signin/second-factor")
        .await
        .text()
        .await
        .expect("page");
    assert!(page.contains("id=\"use-passkey\""), "{page}");
    assert!(page.contains("passkeys.js?v="), "{page}");

    // The page's script asks for options with the sign-in's cookie, then posts the form.
    let (status, options) = script_post(&mut p, "/signin/second-factor/passkey/options").await;
    assert_eq!(status, StatusCode::OK, "{options}");
    let ceremony = options["ceremony"].as_str().expect("ceremony").to_string();
    let response = p
        .post(
            "/signin/second-factor",
            &[
                ("method", "passkey"),
                ("ceremony", &ceremony),
                ("credential", "{not json"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = response.text().await.expect("page");
    assert!(
        page.contains("This is not a well-formed passkey answer."),
        "{page}"
    );
    let credential = authenticator.get(&options["options"], &Twist::default());
    let response = p
        .post(
            "/signin/second-factor",
            &[
                ("method", "passkey"),
                ("ceremony", &ceremony),
                ("credential", &credential.to_string()),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/account");
    // Passkeys are listed with the other sign-in methods.
    let page = p
        .get("/account/security/2fa")
        .await
        .text()
        .await
        .expect("page");
    assert!(page.contains("id=\"passkeys\""), "{page}");
    let id = sqlx::query("SELECT id FROM passkeys")
        .fetch_one(t.app.store.read())
        .await
        .expect("passkey")
        .try_get::<i64, _>("id")
        .expect("id");

    // Adding or removing a passkey waits for a fresh step-up, which a passkey passes.
    let response = p.get("/account/security/passkeys").await;
    assert_eq!(
        location(&response),
        "/account/security/step-up?next=%2Faccount%2Fsecurity%2Fpasskeys"
    );
    let remove = format!("/account/security/passkeys/{id}/remove");
    let response = p.post(&remove, &[]).await;
    assert!(location(&response).starts_with("/account/security/step-up?next="));
    assert_eq!(t.count("passkeys").await, 1);
    let page = p
        .get("/account/security/step-up?next=/account/security/passkeys")
        .await
        .text()
        .await
        .expect("page");
    assert!(page.contains("id=\"step-up-passkey\""), "{page}");
    let (status, options) = script_post(&mut p, "/api/v1/me/step-up/passkey/options").await;
    assert_eq!(status, StatusCode::OK, "{options}");
    let credential = authenticator.get(&options["options"], &Twist::default());
    let response = p
        .post(
            "/account/security/step-up",
            &[
                ("method", "passkey"),
                ("ceremony", options["ceremony"].as_str().unwrap_or_default()),
                ("credential", &credential.to_string()),
                ("next", "/account/security/passkeys"),
            ],
        )
        .await;
    assert_eq!(location(&response), "/account/security/passkeys");
    let page = p
        .get("/account/security/passkeys")
        .await
        .text()
        .await
        .expect("page");
    assert!(page.contains("data-passkey=\"create\""), "{page}");
    let response = p.post(&remove, &[]).await;
    assert_eq!(
        location(&response),
        "/account/security/2fa?notice=passkey-removed"
    );
    assert_eq!(t.count("passkeys").await, 0);
    let page = p
        .get("/account/security/2fa")
        .await
        .text()
        .await
        .expect("page");
    assert!(page.contains("id=\"twofa-off\""), "{page}");
}
both!(passkey_pages_sign_in_step_up_and_remove, super::configure);

/// Support's "reset 2FA" (for an owner who lost their second factors) takes
/// the passkeys too, not only TOTP.
async fn support_reset_removes_passkeys(t: TestApp) {
    let email = "lost@example.com";
    with_passkey(&t, email).await;
    let agent = t.staff("agent@example.com", "agent").await;
    let owner: i64 = sqlx::query("SELECT id FROM accounts WHERE email = $1")
        .bind(email)
        .fetch_one(t.app.store.read())
        .await
        .expect("account")
        .try_get("id")
        .expect("id");
    let (status, body) = t
        .post_as(
            &agent,
            &format!("/api/v1/support/accounts/{owner}/actions"),
            json!({ "action": "reset_2fa", "verification_reference": "T-7 video call", "reason": "lost phone" }),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert_eq!(t.count("passkeys").await, 0);
    assert_eq!(t.count("recovery_codes").await, 0);
    let (status, body) = sign_in(&t, email).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}
both!(support_reset_removes_passkeys, super::configure);

// ---- Unlocking with a passkey ----------------------------------------------

const NEW_PASSWORD: &str = "fresh tea leaves 7";

/// Five wrong passwords: a lock that also asks for a new password.
async fn lock_by_guessing(t: &TestApp, identifier: &str) {
    for _ in 0..5 {
        t.post(
            "/api/v1/sessions",
            json!({ "identifier": identifier, "password": "wrong guess 123" }),
        )
        .await;
    }
    assert!(is_locked(t, identifier).await, "{identifier} locked");
}

async fn is_locked(t: &TestApp, identifier: &str) -> bool {
    let (_, body) = sign_in(t, identifier).await;
    body["type"] == "/problems/sign-in-locked"
}

async fn unlock_options(t: &TestApp, identifier: &str) -> Value {
    let (status, options) = t
        .post(
            "/api/v1/unlock/passkey/options",
            json!({ "identifier": identifier }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{options}");
    options
}

async fn unlock_with(
    t: &TestApp,
    identifier: &str,
    ceremony: &Value,
    credential: Value,
    new_password: Option<&str>,
) -> (StatusCode, Value) {
    let mut body = json!({
        "identifier": identifier,
        "method": "passkey",
        "ceremony": ceremony,
        "credential": credential,
    });
    if let Some(password) = new_password {
        body["new_password"] = json!(password);
    }
    t.post("/api/v1/unlock/confirm", body).await
}

/// The shape of a JSON document: strings become their length, so two
/// answers with different random challenges but the same members compare equal.
fn skeleton(value: &Value) -> Value {
    match value {
        Value::String(s) => json!(s.len()),
        Value::Array(items) => Value::Array(items.iter().map(skeleton).collect()),
        Value::Object(members) => Value::Object(
            members
                .iter()
                .map(|(k, v)| (k.clone(), skeleton(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// An owner locked out by wrong passwords proves themselves with a passkey
/// and a new password; every bad answer before that is refused naming its
/// field and leaves the account locked and the passkeys as they were.
async fn passkey_unlocks_a_locked_account(t: TestApp) {
    let email = "a@example.com";
    let (old_session, mut mine) = with_passkey(&t, email).await;
    let (_, mut theirs) = with_passkey(&t, "b@example.com").await;
    lock_by_guessing(&t, email).await;
    let before = snapshot(&t).await;
    let unchanged = |what: String| {
        let t = &t;
        let before = before.clone();
        async move {
            assert_eq!(snapshot(t).await, before, "{what} changed nothing");
            assert!(is_locked(t, email).await, "{what}: still locked");
        }
    };

    // Wrong passkeys, each on a fresh ceremony.
    let mut stranger = Authenticator::new();
    for (what, code) in [
        (Bad::AnotherAccounts, "passkey_unknown"),
        (Bad::Unknown, "passkey_unknown"),
        (Bad::ForgedSignature, "passkey_invalid"),
        (Bad::WrongChallenge, "passkey_challenge"),
        (Bad::WrongOrigin, "passkey_origin"),
        (Bad::MalformedJson, "passkey_malformed"),
        (Bad::MalformedBase64, "passkey_malformed"),
    ] {
        let options = unlock_options(&t, email).await;
        let credential = what.answer(&options["options"], &mut mine, &mut theirs, &mut stranger);
        let (status, body) = unlock_with(
            &t,
            email,
            &options["ceremony"],
            credential,
            Some(NEW_PASSWORD),
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{what:?}: {body}");
        assert_eq!(
            field_error(&body),
            ("credential".to_string(), code.to_string()),
            "{what:?}: {body}"
        );
        unchanged(format!("{what:?}")).await;
    }

    // Missing members, a forged ceremony, and another purpose's or account's ceremony.
    let options = unlock_options(&t, email).await;
    let good = mine.get(&options["options"], &Twist::default());
    let body = json!({ "identifier": email, "method": "passkey", "credential": good, "new_password": NEW_PASSWORD });
    let (status, problem) = t.post("/api/v1/unlock/confirm", body).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(
        field_error(&problem),
        ("ceremony".into(), "required".into())
    );
    let body = json!({ "identifier": email, "method": "passkey", "ceremony": options["ceremony"], "new_password": NEW_PASSWORD });
    let (status, problem) = t.post("/api/v1/unlock/confirm", body).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(
        field_error(&problem),
        ("credential".into(), "required".into())
    );
    let (status, problem) = unlock_with(
        &t,
        email,
        &json!("kbw_forged"),
        good.clone(),
        Some(NEW_PASSWORD),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(
        field_error(&problem),
        ("ceremony".into(), "invalid_value".into())
    );
    // A lock from wrong passwords needs a new password; the ceremony is not spent on the refusal.
    let (status, problem) = unlock_with(&t, email, &options["ceremony"], good.clone(), None).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(
        field_error(&problem),
        ("new_password".into(), "required".into())
    );
    unchanged("no new password".into()).await;
    let (status, step_up) = t
        .post_as(
            &old_session,
            "/api/v1/me/step-up/passkey/options",
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{step_up}");
    let answer = mine.get(&step_up["options"], &Twist::default());
    let (status, problem) =
        unlock_with(&t, email, &step_up["ceremony"], answer, Some(NEW_PASSWORD)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(
        field_error(&problem),
        ("ceremony".into(), "invalid_value".into())
    );
    lock_by_guessing(&t, "b@example.com").await;
    let their_options = unlock_options(&t, "b@example.com").await;
    let answer = mine.get(&their_options["options"], &Twist::default());
    let (status, problem) = unlock_with(
        &t,
        email,
        &their_options["ceremony"],
        answer,
        Some(NEW_PASSWORD),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(
        field_error(&problem),
        ("ceremony".into(), "invalid_value".into())
    );
    let before = snapshot(&t).await;
    let unchanged = |what: &'static str| {
        let t = &t;
        let before = before.clone();
        async move {
            assert_eq!(snapshot(t).await, before, "{what} changed nothing");
            assert!(is_locked(t, email).await, "{what}: still locked");
        }
    };
    unchanged("another account's ceremony").await;

    // Expired, then used (by a wrong answer): neither serves the right passkey.
    t.exec("UPDATE webauthn_ceremonies SET expires_at = 1")
        .await;
    let (status, problem) =
        unlock_with(&t, email, &options["ceremony"], good, Some(NEW_PASSWORD)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(
        field_error(&problem),
        ("ceremony".into(), "ceremony_expired".into())
    );
    unchanged("an expired ceremony").await;
    let options = unlock_options(&t, email).await;
    let wrong = theirs.get(&options["options"], &Twist::default());
    let (status, _) = unlock_with(&t, email, &options["ceremony"], wrong, Some(NEW_PASSWORD)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let good = mine.get(&options["options"], &Twist::default());
    let (status, problem) =
        unlock_with(&t, email, &options["ceremony"], good, Some(NEW_PASSWORD)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(
        field_error(&problem),
        ("ceremony".into(), "ceremony_used".into())
    );
    unchanged("a used ceremony").await;

    // The right passkey and a new password: unlocked, old password and sessions gone.
    let options = unlock_options(&t, email).await;
    let good = mine.get(&options["options"], &Twist::default());
    let (status, body) =
        unlock_with(&t, email, &options["ceremony"], good, Some(NEW_PASSWORD)).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert_eq!(
        t.get(Some(&old_session), "/api/v1/me").await.0,
        StatusCode::UNAUTHORIZED
    );
    let (status, _) = sign_in(&t, email).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "the old password is gone");
    let (status, pending) = t
        .post(
            "/api/v1/sessions",
            json!({ "identifier": email, "password": NEW_PASSWORD }),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::ACCEPTED,
        "the second factor is still owed: {pending}"
    );
    let detail: String = sqlx::query(
        "SELECT e.detail FROM security_events e JOIN accounts a ON a.id = e.account_id
         WHERE a.email = $1 AND e.kind = 'unlocked'",
    )
    .bind(email)
    .fetch_one(t.app.store.read())
    .await
    .expect("unlocked event")
    .try_get("detail")
    .expect("detail");
    assert_eq!(detail, "self-service (passkey)");
    let (_, last_used) = sqlx::query("SELECT sign_count, last_used_at FROM passkeys ORDER BY id")
        .fetch_all(t.app.store.read())
        .await
        .expect("passkeys")
        .first()
        .map(|r| {
            (
                r.try_get::<i64, _>("sign_count").expect("count"),
                r.try_get::<Option<i64>, _>("last_used_at").expect("used"),
            )
        })
        .expect("a passkey");
    assert!(last_used.is_some(), "the passkey's use is recorded");
}
both!(passkey_unlocks_a_locked_account, super::configure);

/// Asking for unlock options reveals nothing: an unknown, an unlocked, a
/// passkey-less and a locked account with a passkey get answers of one
/// shape naming no credential, and a decoy can never be finished.
async fn unlock_passkey_options_reveal_nothing(t: TestApp) {
    let (_, mut open) = with_passkey(&t, "open@example.com").await;
    with_passkey(&t, "locked@example.com").await;
    lock_by_guessing(&t, "locked@example.com").await;
    t.signed_up("plain@example.com", PASSWORD).await;
    lock_by_guessing(&t, "plain@example.com").await;
    let before = t.count("deliveries").await;
    let mut shapes = Vec::new();
    for who in [
        "locked@example.com",
        "open@example.com",
        "plain@example.com",
        "ghost@example.com",
    ] {
        let options = unlock_options(&t, who).await;
        assert_eq!(
            options["options"]["publicKey"]["allowCredentials"],
            json!([]),
            "{who}: {options}"
        );
        shapes.push((who, skeleton(&options)));
    }
    for (who, shape) in &shapes[1..] {
        assert_eq!(shape, &shapes[0].1, "{who} answers like a locked account");
    }
    assert_eq!(t.count("deliveries").await, before, "nothing is sent");
    // A decoy is refused as a forged ceremony would be, and counts nothing.
    let options = unlock_options(&t, "open@example.com").await;
    let answer = open.get(&options["options"], &Twist::default());
    let passkeys = snapshot(&t).await;
    let (status, problem) = unlock_with(
        &t,
        "open@example.com",
        &options["ceremony"],
        answer,
        Some(NEW_PASSWORD),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(
        field_error(&problem),
        ("ceremony".into(), "invalid_value".into())
    );
    assert_eq!(snapshot(&t).await, passkeys);
    let (status, problem) = unlock_with(
        &t,
        "ghost@example.com",
        &json!("kbw_forged"),
        json!({}),
        Some(NEW_PASSWORD),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(
        field_error(&problem),
        ("ceremony".into(), "invalid_value".into())
    );
}
both!(unlock_passkey_options_reveal_nothing, super::configure);

/// Wrong passkeys at unlock count on the second-factor counter: once it
/// locks, even the right passkey waits, and the account stays locked.
async fn wrong_passkeys_at_unlock_lock_the_second_factor(t: TestApp) {
    let email = "a@example.com";
    let (_, mut mine) = with_passkey(&t, email).await;
    lock_by_guessing(&t, email).await;
    let wrong_origin = Twist {
        origin: Some("https://koban.evil".into()),
        ..Twist::default()
    };
    for _ in 0..2 {
        let options = unlock_options(&t, email).await;
        let answer = mine.get(&options["options"], &wrong_origin);
        let (status, _) =
            unlock_with(&t, email, &options["ceremony"], answer, Some(NEW_PASSWORD)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    }
    let options = unlock_options(&t, email).await;
    let answer = mine.get(&options["options"], &Twist::default());
    let (status, body) =
        unlock_with(&t, email, &options["ceremony"], answer, Some(NEW_PASSWORD)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["type"], "/problems/second-factor-locked");
    assert!(is_locked(&t, email).await);
}
both!(
    wrong_passkeys_at_unlock_lock_the_second_factor,
    super::configure_quick_lock
);

/// The lock page offers a passkey: its script's options request, a refusal
/// shown on the page (still locked), then the unlock and back to sign in.
async fn lock_page_unlocks_with_a_passkey(t: TestApp) {
    let email = "pages@example.com";
    let (_, mut authenticator) = with_passkey(&t, email).await;
    lock_by_guessing(&t, email).await;
    let mut p = Pages::new(&t).await;
    let page = p
        .get("/locked?identifier=pages%40example.com&kind=temporary")
        .await
        .text()
        .await
        .expect("page");
    assert!(page.contains("id=\"unlock-passkey\""), "{page}");
    let options_path = "/locked/passkey/options?identifier=pages%40example.com";
    // The address is HTML-escaped in the attribute (`/` as `&#x2f;`).
    assert!(
        page.contains("options?identifier=pages%40example.com\""),
        "{page}"
    );
    assert!(page.contains("passkeys.js?v="), "{page}");

    let (status, options) = script_post(&mut p, options_path).await;
    assert_eq!(status, StatusCode::OK, "{options}");
    let ceremony = options["ceremony"].as_str().expect("ceremony").to_string();
    let credential = authenticator
        .get(&options["options"], &Twist::default())
        .to_string();
    // No new password, though wrong passwords caused the lock: refused next to the field.
    let response = p
        .post(
            "/locked/unlock",
            &[
                ("identifier", email),
                ("method", "passkey"),
                ("ceremony", &ceremony),
                ("credential", &credential),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = response.text().await.expect("page");
    assert!(page.contains("id=\"new_password-error\""), "{page}");
    assert!(is_locked(&t, email).await);
    let response = p
        .post(
            "/locked/unlock",
            &[
                ("identifier", email),
                ("method", "passkey"),
                ("ceremony", &ceremony),
                ("credential", &credential),
                ("new_password", NEW_PASSWORD),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(
        location(&response).starts_with("/signin?identifier="),
        "{}",
        location(&response)
    );
    assert!(!is_locked(&t, email).await);
}
both!(lock_page_unlocks_with_a_passkey, super::configure);
