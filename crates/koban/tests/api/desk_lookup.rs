//! Signed-out lookup of a ticket by reference number and a code sent to the
//! contact on file: the same answer for every number, tries that run out
//! even under parallel guesses, grants that open one ticket for one hour.

use crate::support::TestApp;
use reqwest::StatusCode;
use serde_json::{json, Value};

/// Opens a ticket signed out from `email`; its reference number.
async fn opened_by(t: &TestApp, email: &str) -> String {
    let (status, body) = t
        .post(
            "/api/v1/desk/tickets",
            json!({ "subject": "收不到验证码", "body": "换了手机以后一直收不到短信验证码", "email": email }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["reference"].as_str().expect("reference").to_string()
}

/// The newest lookup code sent to `destination` that is not `previous`.
async fn lookup_code(t: &TestApp, destination: &str, previous: Option<&str>) -> String {
    for _ in 0..100 {
        let body = t.newest_delivery_of("desk_lookup", destination).await;
        let code = body
            .split(|c: char| !c.is_ascii_digit())
            .find(|s| s.len() == 6)
            .unwrap_or_else(|| panic!("no code in {body}"))
            .to_string();
        if Some(code.as_str()) != previous {
            return code;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("no new lookup code to {destination}");
}

/// The raw answer to a POST, status and text.
async fn raw_post(t: &TestApp, path: &str, body: Value) -> (StatusCode, String) {
    let response = t
        .http
        .post(t.url(path))
        .json(&body)
        .send()
        .await
        .expect("request");
    (response.status(), response.text().await.expect("text"))
}

/// A well-formed reference number (right check digit) that is nobody's.
fn unused_reference(taken: &str, seed: u64) -> String {
    use koban_policy::desk::reference::{format, parse, Reference};
    let taken = parse(taken).expect("taken");
    let mut seed = 1_234_567 + seed * 1_000;
    loop {
        let candidate = Reference::from_random(seed);
        if candidate != taken {
            return format(candidate);
        }
        seed += 1;
    }
}

/// A problem document without its request id, to compare two answers.
fn without_request_id(mut problem: Value) -> Value {
    if let Some(object) = problem.as_object_mut() {
        object.remove("request_id");
    }
    problem
}

async fn a_requester_looks_a_ticket_up_and_answers_with_the_grant(t: TestApp) {
    let reference = opened_by(&t, "lookup@example.com").await;
    let other = opened_by(&t, "someone.else@example.com").await;
    let (status, body) = t
        .post("/api/v1/desk/lookups", json!({ "reference": reference }))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(body["status"], "sent_if_known");
    let code = lookup_code(&t, "lookup@example.com", None).await;
    let digits: String = reference.chars().filter(char::is_ascii_digit).collect();
    let (status, grant) = t
        .post(
            "/api/v1/desk/lookups/check",
            json!({ "reference": digits, "code": code }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{grant}");
    assert_eq!(grant["reference"], reference.as_str());
    assert_eq!(grant["expires_in_seconds"], 3600);
    let token = grant["token"].as_str().expect("token").to_string();
    // Only a hash of the grant is kept.
    assert_eq!(
        t.count(&format!("desk_lookup_grants WHERE token_hash = '{token}'"))
            .await,
        0
    );
    let path = format!("/api/v1/desk/tickets/{reference}");
    let (status, ticket) = t.get(Some(&token), &path).await;
    assert_eq!(status, StatusCode::OK, "{ticket}");
    assert_eq!(ticket["subject"], "收不到验证码");
    assert!(ticket.get("events").is_none(), "requester's view: {ticket}");
    let (status, added) = t
        .post_as(
            &token,
            &format!("{path}/messages"),
            json!({ "body": "补充：手机是 Pixel 8" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{added}");
    let (_, ticket) = t.get(Some(&token), &path).await;
    assert_eq!(ticket["messages"][1]["body"], "补充：手机是 Pixel 8");
    assert_eq!(ticket["messages"][1]["author"], "requester");
    // A grant opens its own ticket only, and nothing else.
    let (status, _) = t
        .get(Some(&token), &format!("/api/v1/desk/tickets/{other}"))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = t.get(Some(&token), "/api/v1/desk/tickets").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = t.get(Some(&token), "/api/v1/me").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // A code opens once.
    let (status, problem) = t
        .post(
            "/api/v1/desk/lookups/check",
            json!({ "reference": reference, "code": code }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(problem["type"], "/problems/lookup-code-invalid");
    // An hour later the grant opens nothing.
    t.exec("UPDATE desk_lookup_grants SET expires_at = 1").await;
    let (status, _) = t.get(Some(&token), &path).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = t
        .post_as(
            &token,
            &format!("{path}/messages"),
            json!({ "body": "again" }),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // The hourly job forgets what has expired.
    t.exec("UPDATE desk_lookups SET expires_at = 1").await;
    t.run_job_now("desk_lookup_prune").await;
    for _ in 0..100 {
        if t.count("desk_lookups").await + t.count("desk_lookup_grants").await == 0 {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("expired lookups and grants were not pruned");
}
both!(a_requester_looks_a_ticket_up_and_answers_with_the_grant);

async fn a_signed_in_requesters_code_goes_to_the_accounts_verified_contact(t: TestApp) {
    let token = t
        .signed_up("owner@example.com", "correct horse battery")
        .await;
    let (status, opened) = t
        .post_as(
            &token,
            "/api/v1/desk/tickets",
            json!({ "subject": "cannot sign in", "body": "my phone was stolen" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{opened}");
    let reference = opened["reference"].as_str().unwrap().to_string();
    let (status, _) = t
        .post("/api/v1/desk/lookups", json!({ "reference": reference }))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let code = lookup_code(&t, "owner@example.com", None).await;
    let (status, grant) = t
        .post(
            "/api/v1/desk/lookups/check",
            json!({ "reference": reference, "code": code }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{grant}");
    let grant = grant["token"].as_str().unwrap();
    let (status, added) = t
        .post_as(
            grant,
            &format!("/api/v1/desk/tickets/{reference}/messages"),
            json!({ "body": "signed out, adding the time: 9am" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{added}");
    // Written as the requester's account.
    assert_eq!(
        t.count("desk_messages WHERE author_account_id IS NOT NULL AND author_kind = 'requester'")
            .await,
        2
    );
}
both!(a_signed_in_requesters_code_goes_to_the_accounts_verified_contact);

async fn the_answer_never_tells_whether_a_number_exists(t: TestApp) {
    let reference = opened_by(&t, "exists@example.com").await;
    let nobody = unused_reference(&reference, 0);
    let (known_status, known) = raw_post(
        &t,
        "/api/v1/desk/lookups",
        json!({ "reference": reference }),
    )
    .await;
    let (unknown_status, unknown) =
        raw_post(&t, "/api/v1/desk/lookups", json!({ "reference": nobody })).await;
    assert_eq!(known_status, StatusCode::ACCEPTED);
    assert_eq!((known_status, &known), (unknown_status, &unknown));
    // Both record a lookup; only the real one sends a code.
    assert_eq!(t.count("desk_lookups").await, 2);
    lookup_code(&t, "exists@example.com", None).await;
    // A wrong code is answered alike for both.
    let wrong = |r: &str| json!({ "reference": r, "code": "000000" });
    let (a_status, a) = t
        .post("/api/v1/desk/lookups/check", wrong(&reference))
        .await;
    let (b_status, b) = t.post("/api/v1/desk/lookups/check", wrong(&nobody)).await;
    assert_eq!(a_status, StatusCode::UNPROCESSABLE_ENTITY, "{a}");
    assert_eq!(
        (a_status, without_request_id(a)),
        (b_status, without_request_id(b))
    );
    // A second request for either within the minute: the same 429.
    let (a_status, _) = t
        .post("/api/v1/desk/lookups", json!({ "reference": reference }))
        .await;
    let (b_status, _) = t
        .post("/api/v1/desk/lookups", json!({ "reference": nobody }))
        .await;
    assert_eq!(
        (a_status, b_status),
        (StatusCode::TOO_MANY_REQUESTS, StatusCode::TOO_MANY_REQUESTS)
    );
}
both!(the_answer_never_tells_whether_a_number_exists);

async fn a_mistyped_number_is_refused_and_changes_nothing(t: TestApp) {
    let reference = opened_by(&t, "typo@example.com").await;
    let mut digits: Vec<char> = reference.chars().filter(char::is_ascii_digit).collect();
    let last = digits.len() - 1;
    digits[last] = if digits[last] == '9' {
        '0'
    } else {
        ((digits[last] as u8) + 1) as char
    };
    let typo: String = digits.into_iter().collect();
    for (path, body) in [
        ("/api/v1/desk/lookups", json!({ "reference": typo })),
        (
            "/api/v1/desk/lookups/check",
            json!({ "reference": typo, "code": "123456" }),
        ),
    ] {
        let (status, problem) = t.post(path, body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
        assert_eq!(problem["type"], "/problems/reference-invalid", "{problem}");
    }
    let (status, problem) = t
        .post(
            "/api/v1/desk/lookups",
            json!({ "reference": "not a number" }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    let (status, problem) = t
        .post(
            "/api/v1/desk/lookups/check",
            json!({ "reference": reference, "code": "12ab" }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(problem["errors"][0]["field"], "code", "{problem}");
    assert_eq!(t.count("desk_lookups").await, 0);
}
both!(a_mistyped_number_is_refused_and_changes_nothing);

async fn guessing_stops_after_five_wrong_codes_even_in_parallel(t: TestApp) {
    // One at a time.
    let reference = opened_by(&t, "guess@example.com").await;
    t.post("/api/v1/desk/lookups", json!({ "reference": reference }))
        .await;
    let code = lookup_code(&t, "guess@example.com", None).await;
    let wrong = if code == "111111" { "222222" } else { "111111" };
    for _ in 0..5 {
        let (status, _) = t
            .post(
                "/api/v1/desk/lookups/check",
                json!({ "reference": reference, "code": wrong }),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    }
    let (status, problem) = t
        .post(
            "/api/v1/desk/lookups/check",
            json!({ "reference": reference, "code": code }),
        )
        .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{problem}");
    // Twenty at once: exactly five are compared.
    let reference = opened_by(&t, "swarm@example.com").await;
    t.post("/api/v1/desk/lookups", json!({ "reference": reference }))
        .await;
    let code = lookup_code(&t, "swarm@example.com", None).await;
    let guesses = (0..20).map(|i| {
        let guess = format!("{:06}", (code.parse::<u32>().unwrap() + 1 + i) % 1_000_000);
        let t = &t;
        let reference = &reference;
        async move {
            t.post(
                "/api/v1/desk/lookups/check",
                json!({ "reference": reference, "code": guess }),
            )
            .await
            .0
        }
    });
    let answers = futures_util::future::join_all(guesses).await;
    let compared = answers
        .iter()
        .filter(|s| **s == StatusCode::UNPROCESSABLE_ENTITY)
        .count();
    let refused = answers
        .iter()
        .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert_eq!((compared, refused), (5, 15), "{answers:?}");
    let (status, _) = t
        .post(
            "/api/v1/desk/lookups/check",
            json!({ "reference": reference, "code": code }),
        )
        .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(t.count("desk_lookup_grants").await, 0);
}
both!(guessing_stops_after_five_wrong_codes_even_in_parallel);

async fn lookups_are_limited_per_number_under_parallel_requests(t: TestApp) {
    let reference = opened_by(&t, "flood@example.com").await;
    let asks = (0..10).map(|_| {
        let t = &t;
        let reference = &reference;
        async move {
            t.post("/api/v1/desk/lookups", json!({ "reference": reference }))
                .await
                .0
        }
    });
    let answers = futures_util::future::join_all(asks).await;
    let accepted = answers
        .iter()
        .filter(|s| **s == StatusCode::ACCEPTED)
        .count();
    assert_eq!(accepted, 1, "one code a minute per number: {answers:?}");
    assert!(answers
        .iter()
        .all(|s| *s == StatusCode::ACCEPTED || *s == StatusCode::TOO_MANY_REQUESTS));
    assert_eq!(t.count("desk_lookups").await, 1);
}
both!(lookups_are_limited_per_number_under_parallel_requests);

async fn one_address_asking_about_many_numbers_is_slowed(t: TestApp) {
    // Three a minute per address here (the limiter counts lookups per
    // client address and per number); numbers that are nobody's count too.
    let mut answers = vec![];
    for seed in 0..5_u64 {
        let reference = koban_policy::desk::reference::format(
            koban_policy::desk::reference::Reference::from_random(seed * 7_919 + 11),
        );
        let (status, _) = t
            .post("/api/v1/desk/lookups", json!({ "reference": reference }))
            .await;
        answers.push(status);
    }
    assert_eq!(&answers[..3], &[StatusCode::ACCEPTED; 3], "{answers:?}");
    assert!(
        answers[3..]
            .iter()
            .all(|s| *s == StatusCode::TOO_MANY_REQUESTS),
        "{answers:?}"
    );
}
both!(
    one_address_asking_about_many_numbers_is_slowed,
    |c: &mut koban::config::Config| c.rate_limit_account_per_minute = 3
);

async fn asking_takes_as_long_for_a_number_that_is_nobodys(t: TestApp) {
    // The request does the same work either way (the code is sent by a job
    // after the answer), so the times differ by noise only. Alternating the
    // two kinds lets background work slow both alike.
    let mut known = vec![];
    let mut unknown = vec![];
    for i in 0..9_u64 {
        let reference = opened_by(&t, &format!("timing{i}@example.com")).await;
        let nobody = unused_reference(&reference, i);
        for (number, times) in [(&reference, &mut known), (&nobody, &mut unknown)] {
            let started = std::time::Instant::now();
            let (status, _) = t
                .post("/api/v1/desk/lookups", json!({ "reference": number }))
                .await;
            times.push(started.elapsed().as_secs_f64());
            assert_eq!(status, StatusCode::ACCEPTED);
        }
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (known, unknown) = (median(&mut known), median(&mut unknown));
    let ratio = known.max(unknown) / known.min(unknown).max(1e-6);
    assert!(
        ratio < 3.0,
        "median {known:.4}s for tickets, {unknown:.4}s for no ticket"
    );
}
both!(asking_takes_as_long_for_a_number_that_is_nobodys);
