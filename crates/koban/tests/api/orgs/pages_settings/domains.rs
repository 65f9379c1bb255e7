//! `/orgs/{org}/domains`: claiming a domain, proving it by a TXT record
//! (against the test's own dnsmasq, see `orgs::domains`) or by a code to
//! postmaster@, auto-join, giving it up; every refusal explained.

use super::*;
use crate::orgs::domains::{dnsmasq, have_dnsmasq, resolver_port};

async fn status_of(t: &TestApp, org: i64, domain: &str) -> String {
    for status in ["verified", "pending"] {
        let n = t
            .count(&format!(
                "org_domains WHERE org_id = {org} AND domain = '{domain}' AND status = '{status}'"
            ))
            .await;
        if n > 0 {
            return status.to_string();
        }
    }
    "none".to_string()
}

/// The text of the element with class `class` in `html`.
fn text_of(html: &str, class: &str) -> String {
    let start = html
        .find(&format!("class=\"{class}\">"))
        .map(|at| at + class.len() + 9)
        .expect("shown");
    html[start..]
        .split('<')
        .next()
        .unwrap_or_default()
        .replace("&#x2f;", "/")
}

async fn administrators_prove_domains(t: TestApp) {
    if !have_dnsmasq() {
        return;
    }
    let port = resolver_port(&t);
    let owner = t.signed_up("dg-owner@example.com", PASSWORD).await;
    let org = new_org(&t, &owner, "Sakura Pages").await;
    member(&t, &owner, org, "dg-sec@example.com", &["security_admin"]).await;
    let rival = t.signed_up("dg-rival@example.com", PASSWORD).await;
    let rival_org = new_org(&t, &rival, "Rival").await;
    let path = format!("/orgs/{org}/domains");

    let mut pages = pages_of(&t, "dg-owner@example.com").await;
    let response = pages.get(&path).await;
    assert_eq!(response.status(), StatusCode::OK);
    let html = response.text().await.expect("html");
    assert!(html.contains("id=\"no-domains\""));
    assert!(html.contains("id=\"org-tab-domains\""));

    // Bad claims, each explained beside its field; nothing claimed.
    for (form, id, words) in [
        (
            vec![("domain", "gmail.com"), ("method", "dns")],
            "domain-error",
            "public mail service",
        ),
        (
            vec![("domain", "not a domain"), ("method", "dns")],
            "domain-error",
            "This value is not allowed.",
        ),
        (
            vec![("domain", "sakura-pages.jp"), ("method", "pigeon")],
            "method-error",
            "This value is not allowed.",
        ),
        (
            vec![
                ("domain", "sakura-pages.jp"),
                ("method", "email"),
                ("mailbox", "alice"),
            ],
            "mailbox-error",
            "administrative mailboxes",
        ),
    ] {
        let response = pages.post(&path, &form).await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{form:?}"
        );
        let html = response.text().await.expect("html");
        assert!(beside(&html, id).contains(words), "{form:?}: {html}");
        assert!(
            html.contains(&format!("value=\"{}\"", form[0].1)),
            "typed stays"
        );
    }
    assert_eq!(
        t.count(&format!("org_domains WHERE org_id = {org}")).await,
        0
    );

    // Claimed for a DNS proof: the record to publish, by name and value.
    let response = pages
        .post(&path, &[("domain", "sakura-pages.jp"), ("method", "dns")])
        .await;
    let (status, html) = page_after(&mut pages, response).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(
        html.contains("Publish the TXT record shown below"),
        "{html}"
    );
    assert_eq!(
        text_of(&html, "txt-name"),
        "_koban-verification.sakura-pages.jp"
    );
    let value = text_of(&html, "txt-value");
    assert!(value.starts_with("koban-verification="), "{value}");
    assert_eq!(status_of(&t, org, "sakura-pages.jp").await, "pending");
    let verify = format!("{path}/sakura-pages.jp/verify");

    // Nobody answers DNS yet; then a record that is not ours.
    let response = pages.post(&verify, &[]).await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    assert!(response
        .text()
        .await
        .expect("html")
        .contains("DNS did not answer"));
    let dns = dnsmasq(
        port,
        &[(
            "_koban-verification.sakura-pages.jp",
            "koban-verification=other",
        )],
    )
    .await;
    let response = pages.post(&verify, &[]).await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    assert!(response
        .text()
        .await
        .expect("html")
        .contains("The TXT record was not found"));
    assert_eq!(status_of(&t, org, "sakura-pages.jp").await, "pending");
    drop(dns);
    let _dns = dnsmasq(port, &[("_koban-verification.sakura-pages.jp", &value)]).await;
    let response = pages.post(&verify, &[]).await;
    let (status, html) = page_after(&mut pages, response).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(html.contains("The domain is proven"), "{html}");
    assert_eq!(status_of(&t, org, "sakura-pages.jp").await, "verified");

    // Auto-join on, then off.
    let toggle = format!("{path}/sakura-pages.jp/auto-join");
    let response = pages.post(&toggle, &[("auto_join", "on")]).await;
    let (status, html) = page_after(&mut pages, response).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(html.contains("can now join on their own"), "{html}");
    let joining = "org_domains WHERE domain = 'sakura-pages.jp' AND auto_join = 1";
    assert_eq!(t.count(joining).await, 1);
    let response = pages.post(&toggle, &[("auto_join", "off")]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(t.count(joining).await, 0);

    // Another organization cannot claim it now.
    let mut other = pages_of(&t, "dg-rival@example.com").await;
    let response = other
        .post(
            &format!("/orgs/{rival_org}/domains"),
            &[("domain", "sakura-pages.jp"), ("method", "dns")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    let html = response.text().await.expect("html");
    assert!(html.contains("Another organization has already proven this domain"));
    assert_eq!(
        t.count(&format!("org_domains WHERE org_id = {rival_org}"))
            .await,
        0
    );

    // Proof by a code to postmaster@.
    let response = pages
        .post(
            &path,
            &[
                ("domain", "sakura-mail.jp"),
                ("method", "email"),
                ("mailbox", "postmaster"),
            ],
        )
        .await;
    let (status, html) = page_after(&mut pages, response).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(
        html.contains("A code was sent to postmaster@sakura-mail.jp"),
        "{html}"
    );
    let code = t
        .newest_delivery_of("org_domain_code", "postmaster@sakura-mail.jp")
        .await
        .split(|c: char| !c.is_ascii_digit())
        .find(|w| w.len() == 8)
        .expect("an 8-digit code")
        .to_string();
    let verify = format!("{path}/sakura-mail.jp/verify");
    let wrong = if code == "00000000" {
        "11111111"
    } else {
        "00000000"
    };
    for (typed, words) in [
        ("", "This field is required."),
        (wrong, "The code is wrong"),
    ] {
        let response = pages.post(&verify, &[("code", typed)]).await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let html = response.text().await.expect("html");
        assert!(
            beside(&html, "code-sakura-mail.jp-error").contains(words),
            "{html}"
        );
    }
    // Auto-join waits for the proof.
    let response = pages
        .post(
            &format!("{path}/sakura-mail.jp/auto-join"),
            &[("auto_join", "on")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    assert!(response
        .text()
        .await
        .expect("html")
        .contains("Prove the domain first"));
    assert_eq!(status_of(&t, org, "sakura-mail.jp").await, "pending");
    let response = pages.post(&verify, &[("code", &code)]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(status_of(&t, org, "sakura-mail.jp").await, "verified");

    // Given up.
    let response = pages
        .post(&format!("{path}/sakura-mail.jp/remove"), &[])
        .await;
    let (status, html) = page_after(&mut pages, response).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(html.contains("The domain was given up"), "{html}");
    assert_eq!(status_of(&t, org, "sakura-mail.jp").await, "none");

    // A security admin (no organization.manage) sees the domains but no
    // tab and no form, and may not change them.
    let mut security = pages_of(&t, "dg-sec@example.com").await;
    let response = security.get(&path).await;
    assert_eq!(response.status(), StatusCode::OK);
    let html = response.text().await.expect("html");
    assert!(html.contains("sakura-pages.jp"));
    assert!(!html.contains("id=\"org-tab-domains\""));
    assert!(
        !html.contains("<form method=\"post\" action=\"/orgs/"),
        "{html}"
    );
    let response = security
        .post(&path, &[("domain", "sec.example.jp"), ("method", "dns")])
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let response = security
        .post(&format!("{path}/sakura-pages.jp/remove"), &[])
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);

    // Another organization's owner: not found.
    assert_eq!(other.get(&path).await.status(), StatusCode::NOT_FOUND);
    let response = other
        .post(&format!("{path}/sakura-pages.jp/remove"), &[])
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(status_of(&t, org, "sakura-pages.jp").await, "verified");
    assert_eq!(
        t.count(&format!("org_domains WHERE org_id = {org}")).await,
        1
    );

    visitor_signs_in_first(&t, &path).await;
}
both!(
    administrators_prove_domains,
    |c: &mut koban::config::Config| {
        c.dns_resolver = format!("127.0.0.1:{}", crate::support::free_port());
    }
);
