//! Verified email domains against a real DNS server (a dnsmasq of the
//! test's own on a free port, which the server is configured to ask):
//! a TXT record proves a domain, a code to postmaster@ proves another,
//! nobody claims a public mail service or another organization's domain,
//! and people of a proven domain join on their own once allowed.

use super::*;
use crate::support::TestApp;
use reqwest::StatusCode;
use serde_json::json;
use std::process::{Child, Command, Stdio};

/// Whether dnsmasq is installed; without it the test is skipped, or fails under CI.
pub(crate) fn have_dnsmasq() -> bool {
    let found = Command::new("dnsmasq")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            !std::env::var("CI").is_ok_and(|v| v == "true"),
            "CI=true but `dnsmasq` is missing (Debian's dnsmasq-base): the domain tests must run in CI"
        );
        eprintln!("`dnsmasq` is not installed: skipping");
    }
    found
}

/// A dnsmasq answering only the given TXT records; stopped when dropped.
pub(crate) struct Dnsmasq(Child);

impl Drop for Dnsmasq {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub(crate) async fn dnsmasq(port: u16, records: &[(&str, &str)]) -> Dnsmasq {
    let mut command = Command::new("dnsmasq");
    command.args([
        "--no-daemon",
        "--conf-file=/dev/null",
        "--no-resolv",
        "--no-hosts",
        "--bind-interfaces",
        "--listen-address=127.0.0.1",
        "--pid-file=",
        "--user=root",
        &format!("--port={port}"),
    ]);
    for (name, text) in records.iter().chain(&[("probe.koban.test", "ok")]) {
        command.arg(format!("--txt-record={name},{text}"));
    }
    let child = command
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("dnsmasq starts");
    let server = Dnsmasq(child);
    let address = format!("127.0.0.1:{port}").parse().expect("address");
    crate::support::eventually("dnsmasq answers", || async {
        koban::dns::txt_records(address, "probe.koban.test")
            .await
            .ok()
            .filter(|found| !found.is_empty())
    })
    .await;
    server
}

pub(crate) fn resolver_port(t: &TestApp) -> u16 {
    t.app
        .config
        .dns_resolver
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .expect("a resolver port")
}

async fn people_of_a_proven_domain_join_on_their_own(t: TestApp) {
    if !have_dnsmasq() {
        return;
    }
    let port = resolver_port(&t);
    let owner = t.signed_up("dm-owner@example.com", PASSWORD).await;
    let org = new_org(&t, &owner, "Sakura Trading").await;
    let plain = member(&t, &owner, org, "dm-plain@example.com", &["member"]).await;
    let domains = format!("/api/v1/orgs/{org}/domains");

    // Bad claims change nothing.
    for (bad, field, code) in [
        (
            json!({ "domain": "gmail.com", "method": "dns" }),
            "domain",
            "public_mail_domain",
        ),
        (
            json!({ "domain": "Yahoo.co.jp", "method": "dns" }),
            "domain",
            "public_mail_domain",
        ),
        (
            json!({ "domain": "not a domain", "method": "dns" }),
            "domain",
            "invalid_value",
        ),
        (
            json!({ "domain": "192.168.1.1", "method": "dns" }),
            "domain",
            "invalid_value",
        ),
        (
            json!({ "domain": "sakura.jp", "method": "pigeon" }),
            "method",
            "invalid_value",
        ),
        (
            json!({ "domain": "sakura.jp", "method": "email" }),
            "mailbox",
            "required",
        ),
        (
            json!({ "domain": "sakura.jp", "method": "email", "mailbox": "alice" }),
            "mailbox",
            "not_administrative",
        ),
    ] {
        let (status, body) = t.post_as(&owner, &domains, bad.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {body}");
        assert_eq!(body["errors"][0]["field"], field, "{bad}: {body}");
        assert_eq!(body["errors"][0]["code"], code, "{bad}: {body}");
    }
    let (status, body) = t
        .post_as(
            &plain,
            &domains,
            json!({ "domain": "sakura.jp", "method": "dns" }),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (_, listed) = t.get(Some(&owner), &domains).await;
    assert_eq!(listed, json!([]));

    // A Unicode name is kept in its xn-- form.
    let (status, claimed) = t
        .post_as(
            &owner,
            &domains,
            json!({ "domain": "さくら.jp", "method": "dns" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{claimed}");
    assert!(claimed["domain"]
        .as_str()
        .expect("domain")
        .starts_with("xn--"));

    // Proof by DNS: refused while the record is not there, then proven.
    let (status, claimed) = t
        .post_as(
            &owner,
            &domains,
            json!({ "domain": "Sakura-Trading.JP", "method": "dns" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{claimed}");
    assert_eq!(claimed["domain"], "sakura-trading.jp");
    assert_eq!(claimed["status"], "pending");
    assert_eq!(claimed["txt_name"], "_koban-verification.sakura-trading.jp");
    let txt_value = claimed["txt_value"].as_str().expect("txt").to_string();
    let verify = format!("{domains}/sakura-trading.jp/verification");
    let dns = dnsmasq(
        port,
        &[(
            "_koban-verification.sakura-trading.jp",
            "koban-verification=someone-else",
        )],
    )
    .await;
    let (status, body) = t.post_as(&owner, &verify, json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(kind(&body).rsplit('/').next(), Some("org-domain-unproven"));
    drop(dns);
    let _dns = dnsmasq(
        port,
        &[
            ("sakura-trading.jp", "v=spf1 -all"),
            ("_koban-verification.sakura-trading.jp", &txt_value),
        ],
    )
    .await;
    let (status, proven) = t.post_as(&owner, &verify, json!({})).await;
    assert_eq!(status, StatusCode::OK, "{proven}");
    assert_eq!(proven["status"], "verified");
    assert_eq!(proven["txt_name"], Value::Null);

    // Nobody else may claim it now.
    let rival = t.signed_up("dm-rival@example.com", PASSWORD).await;
    let rival_org = new_org(&t, &rival, "Rival").await;
    let (status, body) = t
        .post_as(
            &rival,
            &format!("/api/v1/orgs/{rival_org}/domains"),
            json!({ "domain": "sakura-trading.jp", "method": "dns" }),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");

    // People of the domain join once the organization allows it.
    let kenji = t.signed_up("kenji@sakura-trading.jp", PASSWORD).await;
    let (_, offers) = t.get(Some(&kenji), "/api/v1/me/joinable-orgs").await;
    assert_eq!(offers, json!([]), "auto-join is off until turned on");
    let (status, _) = t
        .post_as(&kenji, &format!("/api/v1/orgs/{org}/join"), json!({}))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, body) = t
        .send(
            t.http
                .patch(t.url(&format!("{domains}/sakura-trading.jp")))
                .bearer_auth(&owner)
                .json(&json!({ "auto_join": true })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, offers) = t.get(Some(&kenji), "/api/v1/me/joinable-orgs").await;
    assert_eq!(offers[0]["id"], org, "{offers}");
    assert_eq!(offers[0]["domain"], "sakura-trading.jp");
    let (status, body) = t
        .post_as(&kenji, &format!("/api/v1/orgs/{org}/join"), json!({}))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (_, joined) = t.get(Some(&kenji), "/api/v1/orgs").await;
    assert_eq!(joined[0]["roles"], json!(["member"]), "{joined}");
    // Joining another organization, or through a subdomain, is not offered.
    let (status, _) = t
        .post_as(&kenji, &format!("/api/v1/orgs/{rival_org}/join"), json!({}))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let yuki = t.signed_up("yuki@mail.sakura-trading.jp", PASSWORD).await;
    let (_, offers) = t.get(Some(&yuki), "/api/v1/me/joinable-orgs").await;
    assert_eq!(offers, json!([]));

    // Proof by a code to postmaster@: five wrong codes end the code.
    let (status, claimed) = t
        .post_as(
            &owner,
            &domains,
            json!({ "domain": "sakura.co.jp", "method": "email", "mailbox": "PostMaster" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{claimed}");
    assert_eq!(claimed["mailbox"], "postmaster");
    let code = |body: String| {
        body.split(|c: char| !c.is_ascii_digit())
            .find(|w| w.len() == 8)
            .expect("an 8-digit code")
            .to_string()
    };
    let first = code(
        t.newest_delivery_of("org_domain_code", "postmaster@sakura.co.jp")
            .await,
    );
    let verify = format!("{domains}/sakura.co.jp/verification");
    let (status, body) = t.post_as(&owner, &verify, json!({})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let wrong = if first == "00000000" {
        "11111111"
    } else {
        "00000000"
    };
    for _ in 0..5 {
        let (status, body) = t.post_as(&owner, &verify, json!({ "code": wrong })).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    }
    let (status, body) = t.post_as(&owner, &verify, json!({ "code": first })).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(kind(&body).ends_with("org-domain-code-locked"), "{body}");
    t.post_as(
        &owner,
        &domains,
        json!({ "domain": "sakura.co.jp", "method": "email", "mailbox": "postmaster" }),
    )
    .await;
    let second = code(
        t.newest_delivery_of("org_domain_code", "postmaster@sakura.co.jp")
            .await,
    );
    let (status, body) = t.post_as(&owner, &verify, json!({ "code": second })).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "verified");

    // Giving a domain up ends joining through it.
    let (status, _) = t
        .delete(&owner, &format!("{domains}/sakura-trading.jp"))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let later = t.signed_up("aiko@sakura-trading.jp", PASSWORD).await;
    let (_, offers) = t.get(Some(&later), "/api/v1/me/joinable-orgs").await;
    assert_eq!(offers, json!([]));
    let (_, audit) = t
        .get(
            Some(&owner),
            &format!("/api/v1/orgs/{org}/audit/entries?action=domain.verified"),
        )
        .await;
    assert_eq!(audit["items"].as_array().expect("items").len(), 2);
}
both!(
    people_of_a_proven_domain_join_on_their_own,
    |c: &mut koban::config::Config| {
        c.dns_resolver = format!("127.0.0.1:{}", crate::support::free_port());
    }
);

async fn a_silent_resolver_changes_nothing(t: TestApp) {
    let owner = t.signed_up("dn-owner@example.com", PASSWORD).await;
    let org = new_org(&t, &owner, "Offline").await;
    let domains = format!("/api/v1/orgs/{org}/domains");
    let (status, body) = t
        .post_as(
            &owner,
            &domains,
            json!({ "domain": "offline.example.jp", "method": "dns" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    // Nobody listens on the resolver's port.
    let (status, body) = t
        .post_as(
            &owner,
            &format!("{domains}/offline.example.jp/verification"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(kind(&body).ends_with("org-domain-dns-failed"), "{body}");
    let (_, listed) = t.get(Some(&owner), &domains).await;
    assert_eq!(listed[0]["status"], "pending");
}
both!(
    a_silent_resolver_changes_nothing,
    |c: &mut koban::config::Config| {
        c.dns_resolver = format!("127.0.0.1:{}", crate::support::free_port());
    }
);
