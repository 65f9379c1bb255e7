//! HTTP conventions: the API document, problem details, idempotency, rate
//! limits, CSRF, metrics and readiness.

use crate::support::TestApp;
use reqwest::StatusCode;
use serde_json::json;

const PASSWORD: &str = "plum blossom 2026";

/// Every route of the API is in the document, and every documented
/// operation is served (a request to it is never 404 or 405).
async fn openapi_document_matches_the_routes(t: TestApp) {
    let (status, doc) = t.get(None, "/api/openapi.json").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        doc["openapi"]
    );
    let paths = doc["paths"].as_object().unwrap();
    let expected = [
        ("post", "/api/v1/accounts"),
        ("post", "/api/v1/codes"),
        ("post", "/api/v1/verifications"),
        ("post", "/api/v1/sessions"),
        ("delete", "/api/v1/sessions"),
        ("delete", "/api/v1/sessions/current"),
        ("get", "/api/v1/me"),
        ("post", "/api/v1/me/password"),
        ("post", "/api/v1/password-resets"),
        ("get", "/api/v1/admin/outbox"),
        ("get", "/api/v1/deliveries"),
        ("post", "/api/v1/deliveries/sms-status"),
        ("get", "/api/v1/me/passkeys"),
        ("post", "/api/v1/me/passkeys"),
        ("post", "/api/v1/me/passkeys/options"),
        ("patch", "/api/v1/me/passkeys/{id}"),
        ("delete", "/api/v1/me/passkeys/{id}"),
        ("post", "/api/v1/sessions/second-factor/passkey/options"),
        ("post", "/api/v1/sessions/second-factor/passkey"),
        ("post", "/api/v1/me/step-up/passkey/options"),
        ("post", "/api/v1/me/step-up/passkey"),
        ("post", "/api/v1/unlock"),
        ("post", "/api/v1/unlock/confirm"),
        ("post", "/api/v1/unlock/passkey/options"),
    ];
    for (method, path) in expected {
        assert!(
            paths.get(path).and_then(|p| p.get(method)).is_some(),
            "{method} {path} missing from the API document"
        );
    }
    for (path, operations) in paths {
        for method in operations.as_object().unwrap().keys() {
            let request = t
                .http
                .request(method.to_uppercase().parse().unwrap(), t.url(path))
                .header("content-type", "application/json")
                .body("{}");
            let status = request.send().await.unwrap().status();
            assert!(
                status != StatusCode::NOT_FOUND && status != StatusCode::METHOD_NOT_ALLOWED,
                "{method} {path} documented but answers {status}"
            );
        }
    }
}
both!(openapi_document_matches_the_routes);

/// Resolves a `$ref` to a component of the document.
/// Every `$ref` in `value`, as written.
fn references(value: &serde_json::Value, out: &mut Vec<String>) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, v) in map {
                match (key.as_str(), v.as_str()) {
                    ("$ref", Some(target)) => out.push(target.to_string()),
                    _ => references(v, out),
                }
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| references(v, out)),
        _ => {}
    }
}

/// A parameter or member whose schema names a component the document lacks
/// breaks every client generator (and stops the fuzzer).
async fn every_reference_in_the_document_resolves(t: TestApp) {
    let (status, doc) = t.get(None, "/api/openapi.json").await;
    assert_eq!(status, reqwest::StatusCode::OK);
    let mut found = Vec::new();
    references(&doc, &mut found);
    assert!(found.len() > 20, "{}", found.len());
    for target in found {
        let path = target
            .strip_prefix("#/")
            .unwrap_or_else(|| panic!("external {target}"));
        let resolved = path.split('/').try_fold(&doc, |node, part| node.get(part));
        assert!(resolved.is_some(), "{target} does not resolve");
    }
}
both!(every_reference_in_the_document_resolves);

fn resolve<'a>(doc: &'a serde_json::Value, value: &'a serde_json::Value) -> &'a serde_json::Value {
    match value["$ref"].as_str() {
        Some(reference) => {
            let pointer = reference.trim_start_matches('#');
            doc.pointer(pointer)
                .unwrap_or_else(|| panic!("{reference} does not resolve"))
        }
        None => value,
    }
}

/// Every operation documents what the shared layers can answer it, as
/// problem documents; the signed-in ones name the security schemes and
/// answer a signed-out call 401, and the others do not; `Idempotency-Key` is
/// on exactly the routes the idempotency layer honours.
async fn openapi_document_names_every_shared_answer_and_credential(t: TestApp) {
    let (_, doc) = t.get(None, "/api/openapi.json").await;
    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!(schemes["bearer"]["type"], "http", "{schemes}");
    assert_eq!(schemes["bearer"]["scheme"], "bearer", "{schemes}");
    assert_eq!(schemes["session_cookie"]["type"], "apiKey", "{schemes}");
    assert_eq!(schemes["session_cookie"]["in"], "cookie", "{schemes}");
    assert_eq!(
        schemes["session_cookie"]["name"], "koban_session",
        "{schemes}"
    );
    let problem = &doc["components"]["schemas"]["Problem"];
    for member in ["type", "title", "status", "detail"] {
        assert!(
            problem["required"]
                .as_array()
                .unwrap()
                .contains(&json!(member)),
            "{problem}"
        );
    }
    let routes = koban::http::idempotency::ROUTES;
    let mut idempotent = vec![];
    let mut signed_in_operations = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let name = format!("{method} {path}");
            let responses = operation["responses"].as_object().unwrap();
            let has_body = operation.get("requestBody").is_some();
            let parameters = operation["parameters"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            let has_parameters = parameters
                .iter()
                .any(|p| p["in"] == "query" || p["in"] == "path" || p["in"] == "header");
            let security = operation["security"]
                .as_array()
                .unwrap_or_else(|| panic!("{name} says nothing about security"));
            // `{}` among the requirements: a session is optional.
            let optional = security
                .iter()
                .any(|r| r.as_object().is_some_and(|o| o.is_empty()));
            let signed_in = !security.is_empty() && !optional;
            let mut wanted = vec!["429", "500", "503"];
            if has_body {
                wanted.extend(["400", "413", "415", "422"]);
            }
            if has_parameters {
                wanted.push("422");
            }
            if signed_in || optional {
                wanted.push("401");
                signed_in_operations += usize::from(signed_in);
                for requirement in security {
                    for scheme in requirement.as_object().unwrap().keys() {
                        assert!(
                            schemes.get(scheme).is_some(),
                            "{name}: unknown scheme {scheme}"
                        );
                    }
                }
            }
            if method != "get" {
                wanted.push("403");
            }
            for status in wanted {
                assert!(
                    responses.contains_key(status),
                    "{name} does not document {status}"
                );
            }
            assert_eq!(
                resolve(&doc, &responses["429"])["headers"]["Retry-After"]["schema"]["type"],
                "integer",
                "{name}"
            );
            for (status, response) in responses {
                if status.starts_with('4') || status.starts_with('5') {
                    let response = resolve(&doc, response);
                    assert_eq!(
                        response["content"]["application/problem+json"]["schema"]["$ref"],
                        "#/components/schemas/Problem",
                        "{name} {status} is not a problem document"
                    );
                    assert!(
                        !response["description"].as_str().unwrap_or("").is_empty(),
                        "{name} {status} has no description"
                    );
                }
            }
            let keys = parameters
                .iter()
                .filter(|p| {
                    p["in"] == "header"
                        && p["name"]
                            .as_str()
                            .unwrap()
                            .eq_ignore_ascii_case("idempotency-key")
                })
                .count();
            assert!(keys <= 1, "{name} lists Idempotency-Key {keys} times");
            if keys == 1 {
                assert_eq!(method, "post", "{name}");
                assert!(responses.contains_key("409"), "{name}");
                idempotent.push(path.clone());
            }
            // What the operation answers a caller without credentials says whether it needs them.
            let url = t.url(&path.replace("{id}", "1"));
            let response = t
                .http
                .request(method.to_uppercase().parse().unwrap(), url)
                .header("content-type", "application/json")
                .body("{}")
                .send()
                .await
                .unwrap();
            let status = response.status();
            let body: serde_json::Value = response.json().await.unwrap_or_default();
            assert!(
                responses.contains_key(status.as_str()),
                "{name} answered an undocumented {status}: {body}"
            );
            assert_eq!(
                body["type"] == "/problems/unauthorized",
                signed_in,
                "{name}: security {security:?}, signed out it answers {status} {body}"
            );
        }
    }
    assert!(signed_in_operations > 20, "{signed_in_operations}");
    idempotent.sort();
    let mut expected: Vec<String> = routes.iter().map(|r| r.to_string()).collect();
    expected.sort();
    assert_eq!(
        idempotent, expected,
        "Idempotency-Key on exactly the idempotent routes"
    );
}
both!(openapi_document_names_every_shared_answer_and_credential);

/// The request schemas carry the rules the server checks, from the same constants.
async fn openapi_request_schemas_carry_the_enforced_constraints(t: TestApp) {
    use koban_policy::{contact, password};
    let (_, doc) = t.get(None, "/api/openapi.json").await;
    let schemas = &doc["components"]["schemas"];
    let registration = &schemas["Registration"];
    let members = &registration["allOf"][0]["properties"];
    assert_eq!(
        members["password"]["minLength"],
        password::MIN_CHARS,
        "{registration}"
    );
    assert_eq!(
        members["password"]["maxLength"],
        password::MAX_CHARS,
        "{registration}"
    );
    assert_eq!(
        members["password"]["pattern"],
        password::NEW_PASSWORD_PATTERN
    );
    assert_eq!(members["email"]["pattern"], contact::EMAIL_PATTERN);
    assert_eq!(members["email"]["maxLength"], contact::MAX_INPUT_CHARS);
    assert_eq!(members["phone"]["pattern"], contact::PHONE_PATTERN);
    assert_eq!(members["region"]["pattern"], contact::REGION_PATTERN);
    assert_eq!(registration["allOf"][0]["additionalProperties"], false);
    let one_of = &registration["allOf"][1]["oneOf"];
    assert_eq!(one_of[0]["required"], json!(["phone"]), "{registration}");
    assert_eq!(one_of[1]["required"], json!(["email"]), "{registration}");
    assert!(schemas["ContactChange"]["allOf"][1]["oneOf"].is_array());
    assert_eq!(
        schemas["Credentials"]["properties"]["identifier"]["pattern"],
        contact::IDENTIFIER_PATTERN
    );
    assert_eq!(
        schemas["Confirmation"]["properties"]["code"]["pattern"],
        koban::accounts::codes::CODE_PATTERN
    );
    assert_eq!(
        schemas["DeviceRename"]["properties"]["name"]["maxLength"],
        koban_policy::device::MAX_NAME_CHARS
    );
    assert_eq!(
        schemas["CodePurpose"]["enum"],
        json!(["verify_contact", "password_reset"])
    );
    assert_eq!(
        schemas["SupportActionKind"]["enum"],
        json!(["unlock", "reset_2fa", "remove_device", "end_sessions"])
    );
    let limit = doc["paths"]["/api/v1/me/login-history"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "limit")
        .cloned()
        .unwrap();
    assert_eq!(limit["schema"]["minimum"], 1, "{limit}");
    assert_eq!(
        limit["schema"]["maximum"],
        koban::http::pagination::MAX_LIMIT,
        "{limit}"
    );
    // The app headers, with their rules, wherever they are read: sign-in and
    // its later steps, unlock, new recovery codes, contact and device changes.
    for (path, method) in [
        ("/api/v1/sessions", "post"),
        ("/api/v1/sessions/second-factor", "post"),
        ("/api/v1/unlock/confirm", "post"),
        ("/api/v1/me/2fa/recovery-codes", "post"),
        ("/api/v1/me/contact-changes", "post"),
        ("/api/v1/me/devices/{id}", "delete"),
    ] {
        let parameters = doc["paths"][path][method]["parameters"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let header = |name: &str| {
            parameters
                .iter()
                .find(|p| p["in"] == "header" && p["name"] == name)
                .map(|p| p["schema"]["pattern"].clone())
        };
        use koban_policy::device;
        assert_eq!(
            header("X-Koban-Device"),
            Some(json!(device::DEVICE_ID_PATTERN)),
            "{method} {path}"
        );
        assert_eq!(
            header("X-Koban-Device-Name"),
            Some(json!(device::DEVICE_NAME_HEADER_PATTERN)),
            "{method} {path}"
        );
        assert_eq!(
            header("X-Koban-Client-Version"),
            Some(json!(device::CLIENT_VERSION_PATTERN)),
            "{method} {path}"
        );
    }
    // Both contacts at once is refused, as the oneOf says.
    let (status, problem) = t
        .post(
            "/api/v1/accounts",
            json!({ "phone": "+819012345678", "email": "both@example.com", "password": PASSWORD }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(problem["errors"][0]["code"], "one_of_phone_email");
}
both!(openapi_request_schemas_carry_the_enforced_constraints);

/// A bad query or path value is one kind of answer: 422 naming the parameter.
async fn bad_query_and_path_values_are_422_naming_the_parameter(t: TestApp) {
    let token = t.signed_up("params@example.com", PASSWORD).await;
    let cases = [
        ("get", "/api/v1/me/login-history?limit=true", "limit"),
        ("get", "/api/v1/me/login-history?limit=0", "limit"),
        ("get", "/api/v1/me/security-events?limit=1e3", "limit"),
        ("get", "/api/v1/me/security-events?cursor=%FF", "cursor"),
        ("patch", "/api/v1/me/devices/99999999999999999999", "id"),
        ("delete", "/api/v1/me/devices/abc", "id"),
        ("delete", "/api/v1/me/passkeys/-", "id"),
    ];
    for (method, path, field) in cases {
        let (status, problem) = t
            .send(
                t.http
                    .request(method.to_uppercase().parse().unwrap(), t.url(path))
                    .bearer_auth(&token)
                    .json(&json!({ "name": "Phone" })),
            )
            .await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{method} {path}: {problem}"
        );
        assert_eq!(problem["type"], "/problems/validation", "{problem}");
        assert_eq!(
            problem["errors"][0]["field"], field,
            "{method} {path}: {problem}"
        );
    }
}
both!(bad_query_and_path_values_are_422_naming_the_parameter);

async fn framework_errors_are_problem_documents(t: TestApp) {
    let response = t
        .http
        .get(t.url("/api/v1/nothing-here"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    assert!(response.headers().contains_key("x-request-id"));
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["type"], "/problems/not-found");
    let (status, body) = t.send(t.http.put(t.url("/api/v1/accounts"))).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(body["type"], "/problems/method-not-allowed");
    let (status, body) = t.get(None, "/api/v1/me").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["status"], 401);
}
both!(framework_errors_are_problem_documents);

async fn idempotency_key_replays_and_refuses_a_different_body(t: TestApp) {
    let body = json!({ "email": "idem@example.com", "password": PASSWORD });
    let first = t
        .send(
            t.http
                .post(t.url("/api/v1/accounts"))
                .header("idempotency-key", "k-1")
                .json(&body),
        )
        .await;
    assert_eq!(first.0, StatusCode::CREATED, "{}", first.1);
    let again = t
        .http
        .post(t.url("/api/v1/accounts"))
        .header("idempotency-key", "k-1")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::CREATED);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(again.json::<serde_json::Value>().await.unwrap(), first.1);
    assert_eq!(t.count("accounts").await, 1);
    let other = json!({ "email": "other@example.com", "password": PASSWORD });
    let (status, problem) = t
        .send(
            t.http
                .post(t.url("/api/v1/accounts"))
                .header("idempotency-key", "k-1")
                .json(&other),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem["type"], "/problems/idempotency-mismatch");
    assert_eq!(t.count("accounts").await, 1);
    // A refusal is remembered too: the same bad request with the same key answers the same.
    let bad = json!({ "email": "nope", "password": PASSWORD });
    let (s1, b1) = t
        .send(
            t.http
                .post(t.url("/api/v1/accounts"))
                .header("idempotency-key", "k-2")
                .json(&bad),
        )
        .await;
    let (s2, b2) = t
        .send(
            t.http
                .post(t.url("/api/v1/accounts"))
                .header("idempotency-key", "k-2")
                .json(&bad),
        )
        .await;
    assert_eq!(
        (s1, s2),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            StatusCode::UNPROCESSABLE_ENTITY
        )
    );
    assert_eq!(b1["errors"], b2["errors"]);
    let (status, problem) = t
        .send(
            t.http
                .post(t.url("/api/v1/accounts"))
                .header("idempotency-key", "ключ")
                .json(&body),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
}
both!(idempotency_key_replays_and_refuses_a_different_body);

/// The keys the document allows are the keys the idempotency layer takes.
async fn idempotency_keys_are_as_documented(t: TestApp) {
    use koban::http::openapi::{IDEMPOTENCY_KEY_MAX, IDEMPOTENCY_KEY_PATTERN};
    let (_, doc) = t.get(None, "/api/openapi.json").await;
    let key = doc["paths"]["/api/v1/codes"]["post"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "Idempotency-Key")
        .cloned()
        .unwrap();
    assert_eq!(key["schema"]["maxLength"], IDEMPOTENCY_KEY_MAX, "{key}");
    assert_eq!(key["schema"]["pattern"], IDEMPOTENCY_KEY_PATTERN, "{key}");
    let longest = "k".repeat(IDEMPOTENCY_KEY_MAX);
    let too_long = "k".repeat(IDEMPOTENCY_KEY_MAX + 1);
    for (n, (key, accepted)) in [
        (longest.as_str(), true),
        ("~!tilde-and-bang", true),
        (too_long.as_str(), false),
        ("with space", false),
        ("", false),
    ]
    .into_iter()
    .enumerate()
    {
        // A new address each time: codes to one address are spaced out.
        let body = json!({ "identifier": format!("keys{n}@example.com") });
        let (status, problem) = t
            .send(
                t.http
                    .post(t.url("/api/v1/codes"))
                    .header("idempotency-key", key)
                    .json(&body),
            )
            .await;
        assert_eq!(
            status == StatusCode::ACCEPTED,
            accepted,
            "{key:?}: {status} {problem}"
        );
        if !accepted {
            assert_eq!(
                problem["errors"][0]["field"], "Idempotency-Key",
                "{problem}"
            );
        }
    }
}
both!(idempotency_keys_are_as_documented);

async fn per_ip_rate_limit_answers_429_with_retry_after(t: TestApp) {
    let mut limited = None;
    for _ in 0..10 {
        let response = t.http.get(t.url("/api/v1/me")).send().await.unwrap();
        if response.status() == StatusCode::TOO_MANY_REQUESTS {
            limited = Some(response);
            break;
        }
    }
    let response = limited.expect("the sixth request within a minute is limited");
    let retry: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry >= 1);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["type"], "/problems/rate-limited");
}
both!(
    per_ip_rate_limit_answers_429_with_retry_after,
    |c: &mut koban::config::Config| c.rate_limit_ip_per_minute = 5
);

async fn per_account_rate_limit_on_sign_in(t: TestApp) {
    let mut statuses = vec![];
    for _ in 0..4 {
        let (status, _) = t
            .post(
                "/api/v1/sessions",
                json!({ "identifier": "target@example.com", "password": "guess guess 1" }),
            )
            .await;
        statuses.push(status);
    }
    assert_eq!(statuses[..3], [StatusCode::UNAUTHORIZED; 3]);
    assert_eq!(statuses[3], StatusCode::TOO_MANY_REQUESTS);
}
both!(
    per_account_rate_limit_on_sign_in,
    |c: &mut koban::config::Config| c.rate_limit_account_per_minute = 3
);

async fn cookie_sessions_need_the_csrf_token(t: TestApp) {
    let token = t.signed_up("csrf@example.com", PASSWORD).await;
    let cookie = format!("koban_session={token}; koban_csrf=abcdefghijklmnopqrstuvwx");
    // Cookie-authenticated change without the token: refused, session intact.
    let (status, body) = t
        .send(
            t.http
                .delete(t.url("/api/v1/sessions/current"))
                .header("cookie", &cookie),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["type"], "/problems/csrf");
    let (status, _) = t
        .send(
            t.http
                .delete(t.url("/api/v1/sessions/current"))
                .header("cookie", &cookie)
                .header("x-csrf-token", "wrong-token-wrong-token"),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(t.get(Some(&token), "/api/v1/me").await.0, StatusCode::OK);
    // With the matching header it goes through.
    let (status, _) = t
        .send(
            t.http
                .delete(t.url("/api/v1/sessions/current"))
                .header("cookie", &cookie)
                .header("x-csrf-token", "abcdefghijklmnopqrstuvwx"),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    // A form post (what a foreign page can send) always needs it.
    let (status, _) = t
        .send(
            t.http
                .post(t.url("/api/v1/sessions"))
                .header("content-type", "application/x-www-form-urlencoded")
                .body("identifier=csrf%40example.com&password=x"),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}
both!(cookie_sessions_need_the_csrf_token);

async fn readiness_and_metrics(t: TestApp) {
    let (status, body) = t.get(None, "/readyz").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "ready");
    assert_eq!(t.get(None, "/healthz").await.0, StatusCode::OK);
    t.post(
        "/api/v1/sessions",
        json!({ "identifier": "m@example.com", "password": "whatever 12" }),
    )
    .await;
    let text = t
        .http
        .get(t.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        text.contains(
            r#"koban_http_requests_total{route="/api/v1/sessions",method="POST",status="401"} 1"#
        ),
        "{text}"
    );
    assert!(
        text.contains(
            r#"koban_http_request_duration_seconds_count{route="/api/v1/sessions",method="POST"} 1"#
        ),
        "{text}"
    );
    assert!(
        text.contains("koban_db_connections{state=\"open\"}"),
        "{text}"
    );
    assert!(text.contains("koban_jobs{status=\"pending\"}"), "{text}");
    assert!(text.contains("koban_db_lane_overflows_total 0"), "{text}");
    // The one sign-in read its facts in one statement of its own.
    assert!(
        text.contains("koban_sign_in_reads_total{of=\"statements\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("koban_sign_in_reads_total{of=\"sign_ins\"} 1"),
        "{text}"
    );
}
both!(readiness_and_metrics);

/// A browser on a page gets errors as a page in its language; the API keeps
/// problem documents whatever the Accept header says.
async fn page_errors_are_pages(t: TestApp) {
    let response = t
        .http
        .get(t.url("/no-such-page"))
        .header("accept", "text/html,application/xhtml+xml")
        .header("accept-language", "zh-CN")
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap_or("")
        .starts_with("text/html"));
    let body = response.text().await.expect("body");
    assert!(body.contains("找不到该内容"), "{body}");
    // A form post without its CSRF token, from a browser.
    let response = t
        .http
        .post(t.url("/signin"))
        .header("accept", "text/html")
        .header("content-type", "application/x-www-form-urlencoded")
        .body("identifier=a%40example.com&password=x")
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap_or("")
        .starts_with("text/html"));
    let response = t
        .http
        .get(t.url("/api/v1/nothing"))
        .header("accept", "text/html")
        .send()
        .await
        .expect("request");
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
}
both!(page_errors_are_pages);

/// Behind a trusted proxy the per-IP limit counts each forwarded client, not
/// the proxy; from anyone else the header changes nothing.
async fn per_ip_limit_counts_forwarded_clients_behind_a_trusted_proxy(t: TestApp) {
    let get = |client: &str| {
        t.http
            .get(t.url("/api/v1/me"))
            .header("x-forwarded-for", client)
            .send()
    };
    for _ in 0..3 {
        assert_eq!(
            get("198.51.100.1").await.expect("request").status(),
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        get("198.51.100.1").await.expect("request").status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        get("198.51.100.2").await.expect("request").status(),
        StatusCode::UNAUTHORIZED
    );
}
both!(
    per_ip_limit_counts_forwarded_clients_behind_a_trusted_proxy,
    |c: &mut koban::config::Config| {
        c.rate_limit_ip_per_minute = 3;
        c.trusted_proxies = "127.0.0.1".into();
    }
);

/// Pooled connections are not pinged while in steady use, so the ones the
/// database dropped while they sat idle must still be caught before use:
/// after PostgreSQL ends every connection (as a restart does), the next
/// statement succeeds on a fresh one. (On a bare store: a running app's job
/// worker would meet the dead connections first.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_the_database_dropped_are_replaced() {
    use sqlx::Connection;
    let Some((store, _dir)) = crate::support::fresh_store(crate::support::Db::Postgres).await
    else {
        return;
    };
    let pool_pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
        .fetch_one(store.read())
        .await
        .unwrap();
    let url = crate::support::postgres_url().unwrap();
    let mut admin = sqlx::PgConnection::connect(&url).await.unwrap();
    let ended: Vec<bool> = sqlx::query_scalar(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
         WHERE datname = (SELECT datname FROM pg_stat_activity WHERE pid = $1)",
    )
    .bind(pool_pid)
    .fetch_all(&mut admin)
    .await
    .unwrap();
    assert!(!ended.is_empty() && ended.iter().all(|e| *e));
    // Idle longer than a connection goes unchecked.
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    // As many statements as the pool could hold connections, one at a time.
    for _ in 0..8 {
        let pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
            .fetch_one(store.read())
            .await
            .expect("a statement on a live connection");
        assert_ne!(pid, pool_pid);
    }
}
