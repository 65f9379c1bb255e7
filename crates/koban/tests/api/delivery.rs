//! Delivery of codes: real SMTP to a test mail server, SMS to a mock HTTP
//! provider with signed requests and status callbacks, retries with back-off,
//! the delivery log support reads, the administrators' outbox, and asking
//! for the code on the account's other contact.

use crate::support::{free_port, sms_signature, Db, SmsProvider, SmtpServer, TestApp};
use reqwest::StatusCode;
use serde_json::{json, Value};

const PASSWORD: &str = "plum blossom 2026";

async fn register(t: &TestApp, field: &str, identifier: &str) {
    let (status, body) = t
        .post(
            "/api/v1/accounts",
            json!({ field: identifier, "password": PASSWORD }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

async fn smtp_delivers_the_code_to_the_relay(db: Db) {
    let smtp = SmtpServer::with_auth("koban", "relay secret").await;
    let t = TestApp::start(db, |c| smtp.configure(c)).await;
    register(&t, "email", "alice@example.com").await;
    let messages = smtp.wait_for_messages(1).await;
    assert_eq!(messages.len(), 1);
    let mail = &messages[0];
    assert_eq!(mail.user.as_deref(), Some("koban"), "AUTH PLAIN was used");
    assert_eq!(mail.mail_from, "no-reply@koban.localhost");
    assert_eq!(mail.rcpt_to, vec!["alice@example.com".to_string()]);
    assert!(mail
        .header("to")
        .unwrap_or_default()
        .contains("alice@example.com"));
    assert_eq!(
        mail.header("subject").as_deref(),
        Some("Your Koban verification code")
    );
    let delivery = t
        .delivery_when(
            t.newest_delivery("alice@example.com").await.id,
            "sent",
            |d| d.status == "sent",
        )
        .await;
    assert_eq!(
        mail.header("message-id"),
        Some(format!("<koban-delivery-{}@koban.localhost>", delivery.id))
    );
    assert_eq!(delivery.provider, "smtp");
    assert_eq!(delivery.attempts, 1);
    assert_eq!(delivery.error, None);
    assert!(
        !delivery.has_body,
        "a live message's body is not kept once sent"
    );
    t.delivery_job_when(delivery.id, "job done", |j| j.status == "done")
        .await;
    // The code that travelled over SMTP is the one that verifies.
    let code = mail.code().expect("a code in the mail");
    let (status, body) = t
        .post(
            "/api/v1/verifications",
            json!({ "identifier": "alice@example.com", "code": code }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}
both_db!(smtp_delivers_the_code_to_the_relay);

async fn smtp_wrong_credentials_are_recorded(db: Db) {
    // The relay wants other credentials: nothing is accepted, the reason is recorded.
    let smtp = SmtpServer::with_auth("koban", "relay secret").await;
    let t = TestApp::start(db, |c| {
        smtp.configure(c);
        c.smtp_password = "not the secret".into();
    })
    .await;
    register(&t, "email", "carol@example.com").await;
    let id = t.newest_delivery("carol@example.com").await.id;
    let failed = t.delivery_when(id, "an error", |d| d.error.is_some()).await;
    assert_eq!(failed.status, "queued");
    assert!(
        failed.error.as_deref().unwrap_or("").contains("535"),
        "{failed:?}"
    );
    assert!(smtp.messages().is_empty());
}
both_db!(smtp_wrong_credentials_are_recorded);

async fn smtp_transient_refusal_is_retried_with_backoff(db: Db) {
    let smtp = SmtpServer::start().await;
    smtp.reject_recipients_with(Some("451 4.3.0 mailbox busy, try again later"));
    let t = TestApp::start(db, |c| smtp.configure(c)).await;
    let before = koban::store::now_ms();
    register(&t, "email", "bob@example.com").await;
    let id = t.newest_delivery("bob@example.com").await.id;
    let waiting = t
        .delivery_when(id, "the first failure", |d| d.error.is_some())
        .await;
    assert_eq!(waiting.status, "queued", "{waiting:?}");
    assert_eq!(waiting.attempts, 1);
    assert!(
        waiting.error.as_deref().unwrap_or("").contains("451"),
        "{waiting:?}"
    );
    assert!(waiting.has_body, "kept (sealed) until it is sent");
    let job = t
        .delivery_job_when(id, "job back in the queue", |j| j.status == "pending")
        .await;
    assert_eq!(job.attempts, 1);
    assert!(
        job.run_at >= before + 2_000,
        "back-off of at least 2 s: {job:?}"
    );
    assert!(job.last_error.as_deref().unwrap_or("").contains("451"));
    assert!(smtp.messages().is_empty());
    // The relay recovers; the retry goes through, once.
    smtp.reject_recipients_with(None);
    t.make_due(id).await;
    let sent = t.delivery_when(id, "sent", |d| d.status == "sent").await;
    assert_eq!(sent.attempts, 2);
    assert_eq!(sent.error, None);
    assert_eq!(smtp.wait_for_messages(1).await.len(), 1);
    t.delivery_job_when(id, "job done", |j| j.status == "done")
        .await;
}
both_db!(smtp_transient_refusal_is_retried_with_backoff);

async fn smtp_permanent_refusal_fails_after_max_attempts(db: Db) {
    let smtp = SmtpServer::start().await;
    smtp.reject_recipients_with(Some("550 5.1.1 no such mailbox"));
    let t = TestApp::start(db, |c| smtp.configure(c)).await;
    register(&t, "email", "nobody@example.com").await;
    let id = t.newest_delivery("nobody@example.com").await.id;
    let first = t
        .delivery_when(id, "a failure", |d| d.error.is_some())
        .await;
    assert_eq!(first.status, "queued");
    assert!(
        first.error.as_deref().unwrap_or("").contains("550"),
        "{first:?}"
    );
    t.delivery_job_when(id, "job back in the queue", |j| j.status == "pending")
        .await;
    // Two tries in all: the next one is the last.
    t.exec(&format!(
        "UPDATE jobs SET max_attempts = 2 WHERE idempotency_key = 'delivery:{id}'"
    ))
    .await;
    t.make_due(id).await;
    let failed = t
        .delivery_when(id, "failed", |d| d.status == "failed")
        .await;
    assert_eq!(failed.attempts, 2);
    assert!(failed.error.as_deref().unwrap_or("").contains("550"));
    let job = t
        .delivery_job_when(id, "job failed", |j| j.status == "failed")
        .await;
    assert_eq!(job.attempts, 2);
    assert!(smtp.messages().is_empty());
    // A failed delivery stays failed even if its job is run again.
    koban::delivery::process(&t.app, id, false)
        .await
        .expect("process of a failed delivery is a no-op");
    assert_eq!(t.delivery(id).await.status, "failed");
}
both_db!(smtp_permanent_refusal_fails_after_max_attempts);

async fn smtp_unreachable_relay_is_retried(db: Db) {
    let port = free_port();
    let t = TestApp::start(db, |c| {
        c.delivery_mode = "live".into();
        c.smtp_host = "127.0.0.1".into();
        c.smtp_port = port;
        c.smtp_tls = "none".into();
    })
    .await;
    let before = koban::store::now_ms();
    register(&t, "email", "dave@example.com").await;
    let id = t.newest_delivery("dave@example.com").await.id;
    let waiting = t
        .delivery_when(id, "a failure", |d| d.error.is_some())
        .await;
    assert_eq!(waiting.status, "queued");
    assert!(
        waiting.error.as_deref().unwrap_or("").starts_with("SMTP"),
        "{waiting:?}"
    );
    let job = t
        .delivery_job_when(id, "job back in the queue", |j| j.status == "pending")
        .await;
    assert!(job.run_at >= before + 2_000);
}
both_db!(smtp_unreachable_relay_is_retried);

fn signed(t: &TestApp, secret: &str, body: &Value) -> reqwest::RequestBuilder {
    let bytes = body.to_string();
    t.http
        .post(t.url("/api/v1/deliveries/sms-status"))
        .header("content-type", "application/json")
        .header("x-koban-signature", sms_signature(secret, bytes.as_bytes()))
        .body(bytes)
}

async fn sms_is_signed_sent_and_reported_delivered(db: Db) {
    let sms = SmsProvider::start("provider shared secret").await;
    let t = TestApp::start(db, |c| sms.configure(c)).await;
    register(&t, "phone", "+81 90-1234-5678").await;
    let received = sms.wait_for_messages(1).await;
    let message = &received[0];
    let delivery = t
        .delivery_when(t.newest_delivery("+819012345678").await.id, "sent", |d| {
            d.status == "sent"
        })
        .await;
    assert_eq!(sms.bad_signatures(), 0, "Koban signs its requests");
    assert_eq!(message.to, "+819012345678");
    assert_eq!(message.from, "KobanTest");
    assert_eq!(message.reference, format!("koban-delivery-{}", delivery.id));
    assert_eq!(message.idempotency_key, message.reference);
    assert_eq!(delivery.provider, "sms-http");
    assert_eq!(delivery.provider_message_id.as_deref(), Some("prov-1"));
    assert!(!delivery.has_body);

    // Callbacks without a valid signature are refused and change nothing.
    let report = json!({ "id": "prov-1", "status": "delivered" });
    let unsigned = t
        .http
        .post(t.url("/api/v1/deliveries/sms-status"))
        .header("content-type", "application/json")
        .body(report.to_string());
    assert_eq!(t.send(unsigned).await.0, StatusCode::UNAUTHORIZED);
    let (status, problem) = t.send(signed(&t, "another secret", &report)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{problem}");
    assert_eq!(problem["type"], "/problems/bad-signature");
    // A body altered after signing fails too.
    let tampered = t
        .http
        .post(t.url("/api/v1/deliveries/sms-status"))
        .header("content-type", "application/json")
        .header(
            "x-koban-signature",
            sms_signature(&sms.secret, report.to_string().as_bytes()),
        )
        .body(json!({ "id": "prov-1", "status": "failed" }).to_string());
    assert_eq!(t.send(tampered).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(t.delivery(delivery.id).await.status, "sent");

    // Unknown message, bad status value.
    let (status, _) = t
        .send(signed(
            &t,
            &sms.secret,
            &json!({ "id": "prov-404", "status": "delivered" }),
        ))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, problem) = t
        .send(signed(
            &t,
            &sms.secret,
            &json!({ "id": "prov-1", "status": "exploded" }),
        ))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(problem["errors"][0]["field"], "status", "{problem}");
    let (status, _) = t
        .send(signed(
            &t,
            &sms.secret,
            &json!({ "id": 7, "status": "delivered" }),
        ))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(t.delivery(delivery.id).await.status, "sent");

    // The real report.
    let (status, body) = t.send(signed(&t, &sms.secret, &report)).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let delivered = t.delivery(delivery.id).await;
    assert_eq!(delivered.status, "delivered");
    assert!(delivered.delivered_at.is_some());
    // A provider repeating its callback, or a late failure report, changes nothing.
    assert_eq!(
        t.send(signed(&t, &sms.secret, &report)).await.0,
        StatusCode::NO_CONTENT
    );
    let late = json!({ "id": "prov-1", "status": "failed", "error": "late" });
    assert_eq!(
        t.send(signed(&t, &sms.secret, &late)).await.0,
        StatusCode::NO_CONTENT
    );
    let still = t.delivery(delivery.id).await;
    assert_eq!(still.status, "delivered");
    assert_eq!(still.error, None);

    // Sending again (a re-run job) does not reach the provider again.
    koban::delivery::process(&t.app, delivery.id, false)
        .await
        .expect("re-run");
    assert_eq!(sms.messages().len(), 1);
    assert_eq!(sms.repeats(), 0);

    // And the code the provider got verifies the phone.
    let code: String = message
        .text
        .split(|c: char| !c.is_ascii_digit())
        .find(|s| s.len() == 6)
        .expect("a code in the SMS")
        .to_string();
    let (status, body) = t
        .post(
            "/api/v1/verifications",
            json!({ "identifier": "+819012345678", "code": code }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["account"]["phone_verified"], true);
}
both_db!(sms_is_signed_sent_and_reported_delivered);

async fn support_reads_the_delivery_log(db: Db) {
    let sms = SmsProvider::start("provider shared secret").await;
    let t = TestApp::start(db, |c| sms.configure(c)).await;
    let agent = t.staff("agent@example.com", "agent").await;
    // A plain user, made without sending anything.
    let user = t.staff("user@example.com", "user").await;

    register(&t, "phone", "+81 90-5555-0001").await;
    sms.wait_for_messages(1).await;
    let first = t
        .delivery_when(t.newest_delivery("+819055550001").await.id, "sent", |d| {
            d.status == "sent"
        })
        .await;
    // The handset never got it: the provider says so, with a reason.
    let report = json!({ "id": first.provider_message_id, "status": "failed", "error": "handset unreachable" });
    assert_eq!(
        t.send(signed(&t, &sms.secret, &report)).await.0,
        StatusCode::NO_CONTENT
    );
    // A second code: the provider itself refuses to take it.
    sms.fail_with(Some(400));
    t.exec("DELETE FROM send_throttle").await;
    let (status, _) = t
        .post("/api/v1/codes", json!({ "identifier": "+819055550001" }))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let second = t.newest_delivery("+819055550001").await;
    assert_ne!(second.id, first.id);
    t.delivery_when(second.id, "a failure", |d| d.error.is_some())
        .await;

    // Support looks the number up, in any spelling.
    let (status, page) = t
        .get(
            Some(&agent),
            "/api/v1/deliveries?destination=%2B81%2090-5555-0001",
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let items = page["items"].as_array().expect("items");
    assert_eq!(items.len(), 2, "{page}");
    assert_eq!(items[0]["id"], second.id);
    assert_eq!(items[0]["status"], "queued");
    assert!(
        items[0]["error"].as_str().unwrap_or("").contains("400"),
        "{page}"
    );
    assert_eq!(items[1]["id"], first.id);
    assert_eq!(items[1]["status"], "failed");
    assert_eq!(items[1]["error"], "handset unreachable");
    assert_eq!(items[1]["channel"], "sms");
    assert_eq!(items[1]["provider"], "sms-http");
    assert!(
        items.iter().all(|i| i.get("body").is_none()),
        "support never sees bodies"
    );
    // By account, too.
    let account_id = items[1]["account_id"].as_i64().expect("account id");
    let (status, page) = t
        .get(
            Some(&agent),
            &format!("/api/v1/deliveries?account_id={account_id}"),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page["items"].as_array().map(Vec::len), Some(2));
    // A bad destination is a field error.
    let (status, problem) = t
        .get(
            Some(&agent),
            "/api/v1/deliveries?destination=not%20a%20contact",
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem["errors"][0]["field"], "destination");

    // Not for users, not for strangers.
    assert_eq!(
        t.get(
            Some(&user),
            "/api/v1/deliveries?destination=%2B819055550001"
        )
        .await
        .0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        t.get(None, "/api/v1/deliveries?destination=%2B819055550001")
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );
}
both_db!(support_reads_the_delivery_log);

async fn admin_outbox_pages_with_a_cursor(t: TestApp) {
    let admin = t.staff("admin@example.com", "admin").await;
    let agent = t.staff("agent@example.com", "agent").await;
    // Signing the staff in queued new-device notices; page over our 25 alone.
    t.exec("DELETE FROM jobs").await;
    t.exec("DELETE FROM deliveries").await;
    let mut tx = t.app.store.write().begin().await.expect("begin");
    for n in 0..25 {
        koban::delivery::queue(
            &mut tx,
            &t.app.key,
            false,
            koban::delivery::Outgoing {
                account_id: None,
                purpose: "test".into(),
                channel: koban::delivery::Channel::Email,
                destination: format!("reader{n}@example.com"),
                subject: format!("Message {n}"),
                body: format!("Body number {n}"),
                mail: None,
            },
        )
        .await
        .expect("queue");
    }
    tx.commit().await.expect("commit");

    let mut seen: Vec<i64> = Vec::new();
    let mut sizes = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/admin/outbox?limit=10&cursor={c}"),
            None => "/api/v1/admin/outbox?limit=10".to_string(),
        };
        let (status, page) = t.get(Some(&admin), &path).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        let items = page["items"].as_array().expect("items").clone();
        sizes.push(items.len());
        for item in &items {
            let n = item["subject"]
                .as_str()
                .and_then(|s| s.strip_prefix("Message "))
                .expect("subject");
            assert_eq!(
                item["body"],
                format!("Body number {n}"),
                "admins read the body"
            );
            assert_eq!(item["destination"], format!("reader{n}@example.com"));
            seen.push(item["id"].as_i64().expect("id"));
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => break,
        }
    }
    assert_eq!(sizes, vec![10, 10, 5]);
    assert!(
        seen.windows(2).all(|w| w[0] > w[1]),
        "newest first, no repeats: {seen:?}"
    );
    assert_eq!(seen.len(), 25);

    for bad in [
        "cursor=not-a-cursor",
        "limit=0",
        "limit=101",
        "cursor=aWQ6eHl6",
    ] {
        let (status, problem) = t
            .get(Some(&admin), &format!("/api/v1/admin/outbox?{bad}"))
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {problem}");
        let field = bad.split('=').next().unwrap_or("");
        assert_eq!(problem["errors"][0]["field"], field, "{bad}: {problem}");
    }
    let (status, _) = t.get(Some(&admin), "/api/v1/admin/outbox?limit=ten").await;
    assert!(status.is_client_error(), "{status}");
    assert_eq!(
        t.get(Some(&agent), "/api/v1/admin/outbox").await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        t.get(None, "/api/v1/admin/outbox").await.0,
        StatusCode::UNAUTHORIZED
    );
}
both!(admin_outbox_pages_with_a_cursor);

async fn code_goes_to_the_other_contact_on_request(t: TestApp) {
    let email = "both@example.com";
    let phone = "+819011112222";
    t.signed_up(email, PASSWORD).await;
    let now = koban::store::now_ms();
    t.exec(&format!(
        "UPDATE accounts SET phone = '{phone}', phone_verified_at = {now} WHERE email = '{email}'"
    ))
    .await;

    // "The code never came by email": send the reset code to the phone instead.
    let (status, body) = t
        .post(
            "/api/v1/codes",
            json!({ "identifier": email, "purpose": "password_reset", "via": "phone" }),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let code = t.latest_code(phone).await;
    let to_phone = t.newest_delivery(phone).await;
    assert_eq!(to_phone.status, "sent");
    let (status, body) = t
        .post(
            "/api/v1/password-resets",
            json!({ "identifier": email, "code": code, "new_password": "a new plum blossom 7" }),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");

    // And the other way round, naming the account by its phone.
    t.exec("DELETE FROM send_throttle").await;
    let before = t.newest_delivery(email).await.id;
    let (status, _) = t
        .post(
            "/api/v1/codes",
            json!({ "identifier": phone, "purpose": "password_reset", "via": "email" }),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let to_email = t.newest_delivery(email).await;
    assert!(
        to_email.id > before,
        "a new message went to the email address"
    );
    let code = t.latest_code(email).await;
    let (status, body) = t
        .post(
            "/api/v1/password-resets",
            json!({ "identifier": phone, "code": code, "new_password": "a third plum blossom 8" }),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");

    // A reset code never goes to a contact that was not verified.
    t.exec("DELETE FROM send_throttle").await;
    t.exec(&format!(
        "UPDATE accounts SET phone_verified_at = NULL WHERE email = '{email}'"
    ))
    .await;
    let deliveries = t.count("deliveries").await;
    let (status, _) = t
        .post(
            "/api/v1/codes",
            json!({ "identifier": email, "purpose": "password_reset", "via": "phone" }),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::ACCEPTED,
        "the same answer, revealing nothing"
    );
    assert_eq!(t.count("deliveries").await, deliveries);
    // An unknown account: the same answer, nothing sent.
    let (status, _) = t
        .post(
            "/api/v1/codes",
            json!({ "identifier": "nobody@example.com", "purpose": "password_reset", "via": "phone" }),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(t.count("deliveries").await, deliveries);
    // An unknown channel is a field error.
    let (status, problem) = t
        .post(
            "/api/v1/codes",
            json!({ "identifier": email, "purpose": "password_reset", "via": "fax" }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(problem["errors"][0]["field"], "via");
}
both!(code_goes_to_the_other_contact_on_request);

/// A round of the worker holding many messages to the outbox records them
/// in one statement (`delivery::run_outbox_round`), each as it would alone:
/// sent once, under its own reference; one no longer queued is left as it is.
async fn a_round_of_outbox_messages_is_recorded_each_as_alone(t: TestApp) {
    let mut tx = t.app.store.write().begin().await.unwrap();
    let mut ids = Vec::new();
    for i in 0..40 {
        let message = koban::delivery::Outgoing {
            account_id: None,
            purpose: "desk_received".into(),
            channel: koban::delivery::Channel::Email,
            destination: format!("round{i}@example.com"),
            subject: format!("Round {i}"),
            body: format!("Body {i}"),
            mail: None,
        };
        ids.push(
            koban::delivery::queue(&mut tx, &t.app.key, false, message)
                .await
                .unwrap(),
        );
    }
    // One failed before its job ran: nothing may send or mark it.
    sqlx::query("UPDATE deliveries SET status = 'failed', error = 'given up' WHERE id = $1")
        .bind(ids[17])
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    t.app.jobs_wakeup.notify_one();
    let mut pending = i64::MAX;
    for _ in 0..200 {
        pending = crate::support::scalar(
            &t,
            "SELECT COUNT(*) FROM jobs WHERE kind = 'deliver' AND status <> 'done'",
        )
        .await;
        if pending == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert_eq!(pending, 0, "the deliveries' jobs did not finish");
    for (i, id) in ids.iter().enumerate() {
        let d = t.delivery(*id).await;
        if i == 17 {
            assert_eq!((d.status.as_str(), d.attempts), ("failed", 0), "{d:?}");
            continue;
        }
        assert_eq!(d.status, "sent", "{d:?}");
        assert_eq!(d.attempts, 1, "{d:?}");
        assert_eq!(d.provider_message_id, Some(format!("koban-delivery-{id}")));
        assert_eq!(d.error, None);
    }
}
both!(a_round_of_outbox_messages_is_recorded_each_as_alone);
