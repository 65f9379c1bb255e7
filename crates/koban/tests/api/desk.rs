//! The support desk through HTTP: opening tickets signed in and signed out,
//! reference numbers, forms, triage, secrets, who may see a ticket, and the
//! conversation's status rules.

use crate::support::TestApp;
use reqwest::StatusCode;
use serde_json::{json, Value};

const PASSWORD: &str = "correct horse battery";

/// The reference number without separators.
pub(crate) fn digits(reference: &Value) -> String {
    reference
        .as_str()
        .expect("reference")
        .chars()
        .filter(char::is_ascii_digit)
        .collect()
}

async fn a_signed_out_user_opens_a_ticket_and_keeps_its_number(t: TestApp) {
    let (status, body) = t
        .post(
            "/api/v1/desk/tickets",
            json!({
                "subject": "新しいスマホでログインできない",
                "body": "機種変更したらログインできなくなりました。アカウントがロックされたと表示されます。",
                "email": "aiko@example.jp",
                "time_zone": "Asia/Tokyo",
            }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let reference = body["reference"].as_str().expect("reference");
    // Eleven digits read aloud in groups: 4-4-3.
    assert_eq!(reference.len(), 13, "{reference}");
    assert_eq!(&reference[4..5], "-");
    assert!(koban_policy::desk::reference::parse(reference).is_ok());
    assert_eq!(body["category"], "cannot_sign_in");
    assert_eq!(body["status"], "new");
    assert_eq!(t.count("desk_tickets").await, 1);
    assert_eq!(t.count("desk_messages").await, 1);
    assert_eq!(t.count("desk_events WHERE kind = 'created'").await, 1);
    assert_eq!(t.count("desk_contacts").await, 1);
    // The number reaches the requester, so it is not lost with the page.
    let ack = t.latest_message("aiko@example.jp").await;
    assert!(ack.contains(reference), "{ack}");
    // A second ticket from the same address reuses the contact.
    let (status, second) = t
        .post(
            "/api/v1/desk/tickets",
            json!({ "subject": "もう一つ", "body": "認証コードが届きません", "email": "AIKO@example.jp" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{second}");
    assert_ne!(second["reference"], body["reference"]);
    assert_eq!(t.count("desk_contacts").await, 1);
}
both!(a_signed_out_user_opens_a_ticket_and_keeps_its_number);

async fn a_signed_out_ticket_needs_a_way_to_answer(t: TestApp) {
    for (body, field, code) in [
        (
            json!({ "subject": "help", "body": "cannot sign in" }),
            "email",
            "one_of_phone_email",
        ),
        (
            json!({ "subject": "help", "body": "x", "email": "not an email" }),
            "email",
            "email_invalid",
        ),
        (
            json!({ "subject": "help", "body": "x", "phone": "12345" }),
            "phone",
            "phone_ambiguous",
        ),
    ] {
        let (status, problem) = t.post("/api/v1/desk/tickets", body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
        assert_eq!(problem["errors"][0]["field"], field, "{problem}");
        assert_eq!(problem["errors"][0]["code"], code, "{problem}");
    }
    assert_eq!(t.count("desk_tickets").await, 0);
    assert_eq!(t.count("desk_contacts").await, 0);
}
both!(a_signed_out_ticket_needs_a_way_to_answer);

async fn a_chosen_category_asks_for_its_form_and_names_what_is_missing(t: TestApp) {
    let token = t.signed_up("mei@example.tw", PASSWORD).await;
    let (status, problem) = t
        .post_as(
            &token,
            "/api/v1/desk/tickets",
            json!({ "category": "cannot_sign_in", "subject": "登不進去", "body": "一直轉圈圈",
                    "fields": { "device_os": "iOS", "favourite_colour": "blue",
                                "happened_at": "2999-01-01T00:00:00+08:00" } }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    let errors: Vec<(String, String)> = problem["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| {
            (
                e["field"].as_str().unwrap_or("").into(),
                e["code"].as_str().unwrap_or("").into(),
            )
        })
        .collect();
    assert!(
        errors.contains(&("fields.contact_used".into(), "required".into())),
        "{errors:?}"
    );
    assert!(
        errors.contains(&("fields.error_text".into(), "required".into())),
        "{errors:?}"
    );
    assert!(
        errors.contains(&("fields.happened_at".into(), "in_the_future".into())),
        "{errors:?}"
    );
    assert!(
        errors.contains(&("fields.favourite_colour".into(), "unknown_field".into())),
        "{errors:?}"
    );
    assert_eq!(t.count("desk_tickets").await, 0);

    let (status, body) = t
        .post_as(
            &token,
            "/api/v1/desk/tickets",
            json!({ "category": "cannot_sign_in", "subject": "登不進去", "body": "一直轉圈圈",
                    "fields": { "device_os": "iOS 18", "contact_used": "mei@example.tw",
                                "error_text": "帳號已鎖定", "happened_at": "2026-12-01T09:30:00+08:00" } }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["category"], "cannot_sign_in");
    assert!(
        body["completeness"].as_i64().expect("score") >= 80,
        "{body}"
    );
    // An unknown category is refused, not guessed.
    let (status, problem) = t
        .post_as(
            &token,
            "/api/v1/desk/tickets",
            json!({ "category": "lost_cat", "subject": "x", "body": "y" }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem["errors"][0]["field"], "category");
}
both!(a_chosen_category_asks_for_its_form_and_names_what_is_missing);

async fn requesters_see_their_own_tickets_and_nobody_elses(t: TestApp) {
    let owner = t.signed_up("owner@example.com", PASSWORD).await;
    let other = t.signed_up("other@example.com", PASSWORD).await;
    let (_, opened) = t
        .post_as(
            &owner,
            "/api/v1/desk/tickets",
            json!({ "subject": "收不到验证码", "body": "短信验证码一直收不到" }),
        )
        .await;
    let reference = digits(&opened["reference"]);
    let (status, ticket) = t
        .get(Some(&owner), &format!("/api/v1/desk/tickets/{reference}"))
        .await;
    assert_eq!(status, StatusCode::OK, "{ticket}");
    assert_eq!(ticket["category"], "code_not_received");
    assert_eq!(ticket["messages"].as_array().map(Vec::len), Some(1));
    assert!(
        ticket.get("triage").is_none(),
        "triage is for staff: {ticket}"
    );
    // Someone else's number, a well-formed number that exists nowhere, and
    // no session: no way to tell them apart but the session.
    let (status, _) = t
        .get(Some(&other), &format!("/api/v1/desk/tickets/{reference}"))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let unknown = koban_policy::desk::reference::Reference::from_random(42).to_string();
    let (status, _) = t
        .get(Some(&other), &format!("/api/v1/desk/tickets/{unknown}"))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = t
        .get(None, &format!("/api/v1/desk/tickets/{reference}"))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // One digit off: refused as a typo before any lookup.
    let mut typo: Vec<char> = reference.chars().collect();
    typo[3] = if typo[3] == '9' {
        '0'
    } else {
        ((typo[3] as u8) + 1) as char
    };
    let typo: String = typo.into_iter().collect();
    let (status, problem) = t
        .get(Some(&owner), &format!("/api/v1/desk/tickets/{typo}"))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(problem["errors"][0]["code"], "reference_check_digit");
    // Full-width digits with separators find the same ticket.
    let wide: String = opened["reference"]
        .as_str()
        .expect("reference")
        .chars()
        .map(|c| {
            if c.is_ascii_digit() {
                char::from_u32(c as u32 - '0' as u32 + 0xFF10).unwrap_or(c)
            } else {
                c
            }
        })
        .collect();
    let (status, _) = t
        .get(
            Some(&owner),
            &format!("/api/v1/desk/tickets/{}", urlencoding(&wide)),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, mine) = t.get(Some(&owner), "/api/v1/me/tickets").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(mine["items"].as_array().map(Vec::len), Some(1));
    let (_, theirs) = t.get(Some(&other), "/api/v1/me/tickets").await;
    assert_eq!(theirs["items"].as_array().map(Vec::len), Some(0));
}
both!(requesters_see_their_own_tickets_and_nobody_elses);

fn urlencoding(text: &str) -> String {
    text.bytes().map(|b| format!("%{b:02X}")).collect()
}

async fn pasted_secrets_are_masked_for_everyone_who_reads(t: TestApp) {
    let owner = t.signed_up("paste@example.com", PASSWORD).await;
    let agent = t.staff("agent@example.com", "agent").await;
    let (status, opened) = t
        .post_as(
            &owner,
            "/api/v1/desk/tickets",
            json!({ "subject": "cannot sign in", "body": "My password: hunter2 and my card 4111 1111 1111 1111 was charged" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{opened}");
    let reference = digits(&opened["reference"]);
    let (_, ticket) = t
        .get(Some(&agent), &format!("/api/v1/desk/tickets/{reference}"))
        .await;
    let body = ticket["messages"][0]["body"].as_str().expect("body");
    assert!(!body.contains("hunter2"), "{body}");
    assert!(!body.contains("4111 1111 1111 1111"), "{body}");
    assert!(body.contains("1111"), "the last four digits stay: {body}");
    // The original is kept, sealed, not in the clear.
    let sealed = t
        .count("desk_messages WHERE original_sealed IS NOT NULL")
        .await;
    assert_eq!(sealed, 1);
}
both!(pasted_secrets_are_masked_for_everyone_who_reads);

async fn the_conversation_moves_the_status_as_the_rules_say(t: TestApp) {
    let owner = t.signed_up("talk@example.com", PASSWORD).await;
    let agent = t.staff("agent2@example.com", "agent").await;
    let (_, opened) = t
        .post_as(
            &owner,
            "/api/v1/desk/tickets",
            json!({ "subject": "帳號被盜", "body": "我的帳號被盜了，有人登入了我的帳號" }),
        )
        .await;
    assert_eq!(opened["category"], "account_stolen");
    assert_eq!(opened["priority"], "urgent");
    let path = format!(
        "/api/v1/desk/tickets/{}/messages",
        digits(&opened["reference"])
    );
    // An internal note changes nothing the requester sees.
    let (status, added) = t
        .post_as(
            &agent,
            &path,
            json!({ "body": "checking sign-ins", "public": false }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{added}");
    assert_eq!(added["status"], "new");
    let (status, added) = t
        .post_as(
            &agent,
            &path,
            json!({ "body": "We have locked the account." }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(added["status"], "open");
    // The reply reaches the requester, with the way back to the ticket.
    let mail = t.latest_message("talk@example.com").await;
    assert!(mail.contains("We have locked the account."), "{mail}");
    assert!(mail.contains("/support/tickets/"), "{mail}");
    // The requester sees the reply, not the note; staff see both and the events.
    let ticket_path = format!("/api/v1/desk/tickets/{}", digits(&opened["reference"]));
    let (_, seen) = t.get(Some(&owner), &ticket_path).await;
    assert_eq!(seen["messages"].as_array().map(Vec::len), Some(2));
    let (_, staff_view) = t.get(Some(&agent), &ticket_path).await;
    assert_eq!(staff_view["messages"].as_array().map(Vec::len), Some(3));
    assert_eq!(staff_view["triage"]["category"], "account_stolen");
    let kinds: Vec<&str> = staff_view["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|e| e["kind"].as_str())
        .collect();
    assert_eq!(kinds, ["created", "routed", "noted", "replied", "status"]);
    // Solved, then the requester writes again: it reopens.
    t.exec("UPDATE desk_tickets SET status = 'solved'").await;
    let (_, added) = t
        .post_as(&owner, &path, json!({ "body": "still cannot sign in" }))
        .await;
    assert_eq!(added["status"], "open");
    // Closed: the requester's reply opens a follow-up that links back; an
    // agent cannot write on the closed ticket.
    t.exec("UPDATE desk_tickets SET status = 'closed'").await;
    let before = t.count("desk_messages").await;
    let (status, problem) = t
        .post_as(&agent, &path, json!({ "body": "one more thing" }))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{problem}");
    assert_eq!(t.count("desk_messages").await, before);
    let (status, added) = t.post_as(&owner, &path, json!({ "body": "hello?" })).await;
    assert_eq!(status, StatusCode::CREATED, "{added}");
    let follow_up = added["follow_up"].as_str().expect("follow-up").to_string();
    assert_ne!(digits(&json!(follow_up)), digits(&opened["reference"]));
    let (_, linked) = t
        .get(
            Some(&agent),
            &format!("/api/v1/desk/tickets/{}", digits(&json!(follow_up))),
        )
        .await;
    assert_eq!(linked["status"], "new");
    assert_eq!(linked["category"], "account_stolen");
    assert_eq!(
        linked["events"][0]["detail"]["follow_up_of"],
        opened["reference"]
    );
    // A requester cannot slip in an internal note; an empty body is refused.
    t.exec("UPDATE desk_tickets SET status = 'open'").await;
    let (status, _) = t.post_as(&owner, &path, json!({ "body": "  " })).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (_, added) = t
        .post_as(&owner, &path, json!({ "body": "note?", "public": false }))
        .await;
    assert_eq!(added["status"], "open");
    let (_, seen) = t.get(Some(&owner), &ticket_path).await;
    assert_eq!(
        seen["messages"]
            .as_array()
            .and_then(|m| m.last())
            .map(|m| m["public"].clone()),
        Some(json!(true))
    );
}
both!(the_conversation_moves_the_status_as_the_rules_say);

async fn triage_is_for_agents(t: TestApp) {
    let user = t.signed_up("user@example.com", PASSWORD).await;
    let agent = t.staff("triager@example.com", "agent").await;
    let input = json!({ "subject": "認証コードが届かない", "body": "SMSの認証コードが何度送っても届きません" });
    let (status, _) = t.post_as(&user, "/api/v1/desk/triage", input.clone()).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = t.post("/api/v1/desk/triage", input.clone()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, answer) = t.post_as(&agent, "/api/v1/desk/triage", input).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["category"], "code_not_received");
    assert!(answer["confidence"]
        .as_f64()
        .is_some_and(|c| (0.0..=1.0).contains(&c)));
    assert!(!answer["decided_by"].as_str().unwrap_or("").is_empty());
    let (status, _) = t
        .post_as(
            &agent,
            "/api/v1/desk/triage",
            json!({ "subject": "x", "body": "y".repeat(20_001) }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}
both!(triage_is_for_agents);

async fn script_in_a_ticket_is_kept_as_text(t: TestApp) {
    let owner = t.signed_up("xss@example.com", PASSWORD).await;
    let payload = "<script>alert(1)</script><img src=x onerror=alert(2)>";
    let (status, opened) = t
        .post_as(
            &owner,
            "/api/v1/desk/tickets",
            json!({ "subject": payload, "body": payload }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{opened}");
    let (_, ticket) = t
        .get(
            Some(&owner),
            &format!("/api/v1/desk/tickets/{}", digits(&opened["reference"])),
        )
        .await;
    // JSON carries the text as typed; pages escape it when they show it.
    assert_eq!(ticket["subject"], payload);
    // Hidden characters are refused.
    let (status, _) = t
        .post_as(
            &owner,
            "/api/v1/desk/tickets",
            json!({ "subject": "a\u{202E}b", "body": "x" }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}
both!(script_in_a_ticket_is_kept_as_text);

pub(crate) fn totp_now(secret_base32: &str) -> String {
    let secret = koban::security::totp::base32_decode(secret_base32).expect("base32");
    koban::security::totp::code_at(
        &secret,
        koban::security::totp::step_of(koban::store::now_ms()),
    )
}

/// The source's first case: locked out on a new device, the user opens a
/// ticket signed out; it arrives triaged with the lock in its security
/// context; the agent verifies the owner through a code to the verified
/// contact and unlocks from the ticket; the user signs in and turns on 2FA.
async fn locked_out_user_is_verified_and_unlocked_from_the_ticket(t: TestApp) {
    let owner = "kenji@example.jp";
    t.signed_up(owner, PASSWORD).await;
    for _ in 0..5 {
        t.post(
            "/api/v1/sessions",
            json!({ "identifier": owner, "password": "wrong guess 123" }),
        )
        .await;
    }
    let (status, locked) = t
        .post(
            "/api/v1/sessions",
            json!({ "identifier": owner, "password": PASSWORD }),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{locked}");

    let (status, opened) = t
        .post(
            "/api/v1/desk/tickets",
            json!({ "subject": "新しい端末でログインできない",
                    "body": "機種変更した新しいスマホでログインしようとしたら、アカウントがロックされました。",
                    "email": owner }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{opened}");
    assert!(
        ["cannot_sign_in", "account_stolen"].contains(&opened["category"].as_str().unwrap_or("")),
        "{opened}"
    );
    let reference = digits(&opened["reference"]);
    let base = format!("/api/v1/desk/tickets/{reference}");
    let agent = t.staff("support@example.com", "agent").await;

    // The lock is in the context before anything is proved, marked as not proved.
    let (status, context) = t
        .get(Some(&agent), &format!("{base}/security-context"))
        .await;
    assert_eq!(status, StatusCode::OK, "{context}");
    assert_eq!(context["account_proved"], false);
    assert!(context["live"]["lock"].is_object(), "{context}");
    assert!(!context["live"]["attempts"]
        .as_array()
        .expect("attempts")
        .is_empty());
    // The lock notice is among the deliveries: what answers "did a mail come?".
    let purposes: Vec<&str> = context["live"]["deliveries"]
        .as_array()
        .expect("deliveries")
        .iter()
        .filter_map(|d| d["purpose"].as_str())
        .collect();
    assert!(purposes.contains(&"verify_contact"), "{purposes:?}");
    // The requester may not read it, nor act.
    let actions = format!("{base}/account-actions");
    let unlock = json!({ "action": "unlock", "reason": "owner locked out after changing phones" });
    // Nothing proved yet: refused, and the account stays locked.
    let (status, problem) = t.post_as(&agent, &actions, unlock.clone()).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{problem}");
    assert_eq!(problem["type"], "/problems/verification-required");

    let (status, started) = t
        .post_as(&agent, &format!("{base}/verifications"), json!({}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{started}");
    assert!(
        started["destination"].as_str().unwrap_or("").contains('*'),
        "{started}"
    );
    let id = started["id"].as_i64().expect("id");
    let check = format!("{base}/verifications/{id}/check");
    let code = t.latest_code(owner).await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let (status, problem) = t.post_as(&agent, &check, json!({ "code": wrong })).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    let (status, problem) = t.post_as(&agent, &actions, unlock.clone()).await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "a wrong code proves nothing: {problem}"
    );
    let (status, body) = t.post_as(&agent, &check, json!({ "code": code })).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");

    // A verification on another ticket does not count here.
    let (_, other) = t
        .post(
            "/api/v1/desk/tickets",
            json!({ "subject": "another", "body": "locked", "email": owner }),
        )
        .await;
    let other_actions = format!(
        "/api/v1/desk/tickets/{}/account-actions",
        digits(&other["reference"])
    );
    let (status, _) = t.post_as(&agent, &other_actions, unlock.clone()).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let (status, body) = t.post_as(&agent, &actions, unlock.clone()).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (_, ticket) = t.get(Some(&agent), &base).await;
    let kinds: Vec<&str> = ticket["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|e| e["kind"].as_str())
        .collect();
    for kind in [
        "created",
        "verification_started",
        "verification_passed",
        "account_action",
    ] {
        assert!(kinds.contains(&kind), "{kinds:?}");
    }
    assert_eq!(
        t.count("audit_log WHERE action = 'account.unlock'").await,
        1
    );
    let (_, context) = t
        .get(Some(&agent), &format!("{base}/security-context"))
        .await;
    assert_eq!(context["account_proved"], true);
    assert!(context["live"]["lock"].is_null(), "{context}");

    // The owner signs in and turns on 2FA; the contact is now theirs, so
    // the ticket is in their list.
    let (status, session) = t
        .post(
            "/api/v1/sessions",
            json!({ "identifier": owner, "password": PASSWORD }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{session}");
    let token = session["session"]["token"]
        .as_str()
        .expect("token")
        .to_string();
    let (status, enrollment) = t.post_as(&token, "/api/v1/me/2fa/totp", json!({})).await;
    assert_eq!(status, StatusCode::CREATED, "{enrollment}");
    let secret = enrollment["secret"].as_str().expect("secret").to_string();
    let (status, body) = t
        .post_as(
            &token,
            "/api/v1/me/2fa/totp/confirm",
            json!({ "code": totp_now(&secret) }),
        )
        .await;
    assert!(status.is_success(), "{body}");
    let (_, mine) = t.get(Some(&token), "/api/v1/me/tickets").await;
    assert_eq!(mine["items"].as_array().map(Vec::len), Some(2), "{mine}");

    // A verification older than 30 minutes no longer counts.
    t.exec("UPDATE desk_verifications SET passed_at = passed_at - 1860000")
        .await;
    let (status, _) = t.post_as(&agent, &actions, unlock).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // The requester sees neither the context nor the actions.
    let (status, _) = t
        .get(Some(&token), &format!("{base}/security-context"))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}
both!(locked_out_user_is_verified_and_unlocked_from_the_ticket);

async fn a_consented_snapshot_travels_with_the_ticket(t: TestApp) {
    let token = t.signed_up("share@example.com", PASSWORD).await;
    let agent = t.staff("reader@example.com", "agent").await;
    let (status, opened) = t
        .post_as(
            &token,
            "/api/v1/desk/tickets",
            json!({ "subject": "unknown device", "body": "I see a device I do not know in my list", "share_security_context": true }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{opened}");
    let (_, context) = t
        .get(
            Some(&agent),
            &format!(
                "/api/v1/desk/tickets/{}/security-context",
                digits(&opened["reference"])
            ),
        )
        .await;
    assert_eq!(context["account_proved"], true);
    assert!(context["snapshot"]["devices"].is_array(), "{context}");
    assert_eq!(context["snapshot"]["two_factor"], false);
    // Without consent there is no snapshot.
    let (_, plain) = t
        .post_as(
            &token,
            "/api/v1/desk/tickets",
            json!({ "subject": "x", "body": "question about groups" }),
        )
        .await;
    let (_, context) = t
        .get(
            Some(&agent),
            &format!(
                "/api/v1/desk/tickets/{}/security-context",
                digits(&plain["reference"])
            ),
        )
        .await;
    assert!(context["snapshot"].is_null(), "{context}");
}
both!(a_consented_snapshot_travels_with_the_ticket);

async fn patch(t: &TestApp, token: &str, path: &str, body: Value) -> (StatusCode, Value) {
    t.send(t.http.patch(t.url(path)).bearer_auth(token).json(&body))
        .await
}

async fn agents_work_the_queue_and_never_both_take_a_ticket(t: TestApp) {
    let user = t.signed_up("asker@example.com", PASSWORD).await;
    let stranger = t.signed_up("stranger@example.com", PASSWORD).await;
    let ann = t.staff("ann@example.com", "agent").await;
    let bob = t.staff("bob@example.com", "agent").await;
    let (_, first) = t
        .post_as(
            &user,
            "/api/v1/desk/tickets",
            json!({ "subject": "忘记密码", "body": "我忘记密码了，怎么重置？" }),
        )
        .await;
    let (_, second) = t
        .post_as(
            &user,
            "/api/v1/desk/tickets",
            json!({ "subject": "群发失败", "body": "企业账号群发消息失败了" }),
        )
        .await;
    let path = format!("/api/v1/desk/tickets/{}", digits(&first["reference"]));

    // Views: everything open, then nobody's.
    let (status, open) = t.get(Some(&ann), "/api/v1/desk/tickets").await;
    assert_eq!(status, StatusCode::OK, "{open}");
    assert_eq!(open["items"].as_array().map(Vec::len), Some(2));
    // Two agents claim at once: exactly one gets it; nothing is half-done.
    let (a, b) = tokio::join!(
        patch(&t, &ann, &path, json!({ "claim": true })),
        patch(&t, &bob, &path, json!({ "claim": true }))
    );
    let mut statuses = [a.0, b.0];
    statuses.sort();
    assert_eq!(
        statuses,
        [StatusCode::NO_CONTENT, StatusCode::CONFLICT],
        "{a:?} {b:?}"
    );
    let (_, unassigned) = t
        .get(Some(&bob), "/api/v1/desk/tickets?view=unassigned")
        .await;
    assert_eq!(unassigned["items"].as_array().map(Vec::len), Some(1));
    assert_eq!(unassigned["items"][0]["reference"], second["reference"]);
    let winner = if a.0 == StatusCode::NO_CONTENT {
        &ann
    } else {
        &bob
    };
    let (_, mine) = t.get(Some(winner), "/api/v1/desk/tickets?view=mine").await;
    assert_eq!(mine["items"][0]["reference"], first["reference"]);
    assert_eq!(t.count("desk_events WHERE kind = 'assigned'").await, 1);

    // A correction of the category is recorded as one.
    let (status, body) = patch(
        &t,
        winner,
        &path,
        json!({ "category": "other", "priority": "high", "status": "pending" }),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (_, ticket) = t.get(Some(winner), &path).await;
    assert_eq!(ticket["category"], "other");
    assert_eq!(ticket["priority"], "high");
    assert_eq!(ticket["status"], "pending");
    assert_eq!(t.count("desk_events WHERE kind = 'category'").await, 1);

    // Refused, with nothing changed: back to new, closing unsolved, unknown
    // labels, an assignee who is not staff, two ways of assigning at once.
    for bad in [
        json!({ "status": "new" }),
        json!({ "status": "closed" }),
        json!({ "status": "sleeping" }),
        json!({ "priority": "asap" }),
        json!({ "category": "lost_cat" }),
        json!({ "assignee_id": 1 }),
        json!({ "claim": true, "unassign": true }),
        json!({ "status": "open", "priority": "whenever" }),
    ] {
        let (status, problem) = patch(&t, winner, &path, bad.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {problem}");
    }
    let (_, unchanged) = t.get(Some(winner), &path).await;
    assert_eq!(unchanged["status"], "pending");
    assert_eq!(unchanged["priority"], "high");

    // Who may do what: the requester reads but cannot change; a stranger
    // and a signed-out visitor learn nothing; an ordinary user has no queue.
    let (status, _) = patch(&t, &user, &path, json!({ "priority": "urgent" })).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = patch(&t, &stranger, &path, json!({ "priority": "urgent" })).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = t
        .send(
            t.http
                .patch(t.url(&path))
                .json(&json!({ "priority": "urgent" })),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = t.get(Some(&user), "/api/v1/desk/tickets").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = t.get(None, "/api/v1/desk/tickets").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = t
        .get(Some(&ann), "/api/v1/desk/tickets?view=everything")
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = t
        .get(Some(&stranger), &format!("{path}/security-context"))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = t
        .post_as(&user, &format!("{path}/verifications"), json!({}))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}
both!(agents_work_the_queue_and_never_both_take_a_ticket);

async fn triage_learns_from_agents_corrections(t: TestApp) {
    let user = t.signed_up("teach@example.com", PASSWORD).await;
    let agent = t.staff("teacher@example.com", "agent").await;
    let words =
        json!({ "subject": "zorblax wibble", "body": "frobnicate the zorblax wibble quux" });
    let (_, before) = t
        .post_as(&agent, "/api/v1/desk/triage", words.clone())
        .await;
    assert_eq!(before["category"], "other", "{before}");
    for _ in 0..3 {
        let (status, opened) = t
            .post_as(&user, "/api/v1/desk/tickets", words.clone())
            .await;
        assert_eq!(status, StatusCode::CREATED, "{opened}");
        let path = format!("/api/v1/desk/tickets/{}", digits(&opened["reference"]));
        let (status, body) = patch(&t, &agent, &path, json!({ "category": "privacy" })).await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    }
    // Every node relearns within minutes; this one is told to now.
    koban::desk::current_model(&t.app, true).await;
    let (_, after) = t.post_as(&agent, "/api/v1/desk/triage", words).await;
    assert_eq!(after["category"], "privacy", "{after}");
    assert_eq!(after["decided_by"], "learned", "{after}");
}
both!(triage_learns_from_agents_corrections);
