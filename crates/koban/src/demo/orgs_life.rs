//! The organizations' month, in the order it happened: their security
//! policies, the company's security notice read and 2-step verification
//! turned on by some, a lost phone frozen, a member on leave suspended, an
//! invitation still unanswered, and an access review begun yesterday with
//! some decisions made; then the members' tickets on the support line.

use super::data::{Data, Org, OrgPolicy};
use super::orgs::Founded;
use super::people::{self, Staff, User};
use super::tickets::{self, Span};
use super::{step, DemoError, DAY_MS, HOUR_MS};
use crate::enterprise::{devices, invites, members, onboarding, policies, reviews};
use crate::state::App;
use crate::store::as_of;
use koban_policy::org::roles::MemberChange;
use rand::rngs::StdRng;
use rand::Rng;
use std::collections::BTreeMap;

/// Sets `org`'s policy as `by`, at `at`.
async fn set_policy(
    app: &App,
    org: &Founded,
    by: &User,
    wanted: &OrgPolicy,
    at: i64,
) -> Result<(), DemoError> {
    let policy = policies::read_input(policies::PolicyInput {
        two_factor_grace_days: wanted.two_factor_grace_days,
        max_devices: wanted.max_devices,
        allowed_countries: wanted.allowed_countries.clone(),
        min_client_version: wanted.min_client_version.clone(),
        ..Default::default()
    })
    .map_err(|errors| DemoError::Step {
        step: "reading the demo's policy".into(),
        error: format!("{errors:?}"),
    })?;
    as_of(
        at,
        policies::set(app, by.current.account.id, org.id, policy, None),
    )
    .await
    .map_err(step("setting a security policy"))?;
    Ok(())
}

/// The first of `org`'s people with `role` (the owner when none has it).
fn with_role<'a>(data: &Org, org: &'a Founded, role: &str) -> Result<&'a User, DemoError> {
    match data.people.iter().find(|p| p.role.as_deref() == Some(role)) {
        Some(p) => org.person(&p.local),
        None => Ok(org.owner()),
    }
}

/// The organization's month (`span.start` is its first day); how many of
/// its people turned 2-step verification on.
pub async fn live(
    app: &App,
    data: &Org,
    org: &Founded,
    span: Span,
    rng: &mut StdRng,
) -> Result<usize, DemoError> {
    let day = |n: i64| span.start + n * DAY_MS;
    let security = with_role(data, org, "security_admin")?;
    let admin = with_role(data, org, "admin")?;
    set_policy(app, org, security, &data.policy, day(6)).await?;
    let mut notice_at = None;
    if let Some(notice) = &data.notice {
        let at = day(6) + HOUR_MS;
        as_of(
            at,
            onboarding::set_notice(app, security.current.account.id, org.id, notice),
        )
        .await
        .map_err(step("writing the security notice"))?;
        notice_at = Some(at);
    }
    // Onboarding, one person after another over the next ten days: most
    // of the company's own people read the notice and review their
    // devices; the administrators and a few others turn 2-step
    // verification on. The owner, whose sign-in the demo prints, has not
    // yet: the grace period is still running.
    let frozen = data.frozen.as_ref().map(|f| f.who.as_str());
    let suspended = data.suspended.as_ref().map(|s| s.who.as_str());
    let mut two_factor = 0;
    if let Some(from) = notice_at {
        for (n, (local, user)) in org.people.iter().enumerate().skip(1) {
            if n % 4 == 3 {
                continue; // Not yet.
            }
            let mut at = from + n as i64 * 20 * HOUR_MS + rng.gen_range(HOUR_MS..8 * HOUR_MS);
            if n <= 4 || n % 3 == 0 {
                as_of(at, people::turn_on_two_factor(app, user)).await?;
                two_factor += 1;
            }
            if Some(local.as_str()) == frozen || Some(local.as_str()) == suspended {
                continue;
            }
            for item in ["security_notice", "devices_reviewed"] {
                at += rng.gen_range(5 * 60_000..HOUR_MS);
                as_of(
                    at,
                    onboarding::acknowledge(app, user.current.account.id, org.id, item, org.lang),
                )
                .await
                .map_err(step(&format!("{local} acknowledging {item}")))?;
            }
        }
    }
    if let Some(frozen) = &data.frozen {
        let who = org.person(&frozen.who)?;
        let device = who.current.device_id;
        as_of(
            day(18),
            devices::set_frozen(
                app,
                security.current.account.id,
                org.id,
                who.current.account.id,
                device,
                Some(&frozen.reason),
            ),
        )
        .await
        .map_err(step("freezing a lost phone"))?;
    }
    if let Some(suspended) = &data.suspended {
        let who = org.person(&suspended.who)?;
        as_of(
            day(22),
            members::change_member(
                app,
                admin.current.account.id,
                org.id,
                who.current.account.id,
                MemberChange::Suspend,
                Some(&suspended.reason),
            ),
        )
        .await
        .map_err(step("suspending a member"))?;
    }
    if let Some(pending) = &data.pending {
        let contact = format!("{}@{}", pending.local, data.domain);
        let roles = [pending.role.clone().unwrap_or_else(|| "member".into())];
        as_of(
            span.end - 2 * DAY_MS,
            invites::invite(
                app,
                admin.current.account.id,
                org.id,
                invites::Invitation {
                    contact: &contact,
                    region: None,
                    display_name: &pending.name,
                    roles: &roles,
                    lang: org.lang,
                },
            ),
        )
        .await
        .map_err(step(&format!("inviting {contact}")))?;
    }
    if let Some(note) = &data.review_note {
        let revoke = suspended.map(|who| (who, note.as_str()));
        review(app, org, security, revoke, span.end - DAY_MS, rng).await?;
    }
    Ok(two_factor)
}

/// An access review started at `at` by `reviewer`, who decides on half
/// the company's own people and to revoke `revoke`'s access (with a
/// note); the owner keeps the reviewer. Nobody has signed it off yet.
async fn review(
    app: &App,
    org: &Founded,
    reviewer: &User,
    revoke: Option<(&str, &str)>,
    at: i64,
    rng: &mut StdRng,
) -> Result<(), DemoError> {
    let by = reviewer.current.account.id;
    let started = as_of(at, reviews::start(app, by, org.id))
        .await
        .map_err(step("starting an access review"))?;
    let mut when = at;
    for (n, (local, user)) in org.people.iter().enumerate() {
        let account = user.current.account.id;
        let (decision, note) = match revoke {
            Some((who, note)) if who == local => ("revoke", Some(note)),
            _ if n % 2 == 0 || account == by => ("keep", None),
            _ => continue,
        };
        let decider = match account == by {
            true => org.owner().current.account.id,
            false => by,
        };
        when += rng.gen_range(3 * 60_000..40 * 60_000);
        as_of(
            when,
            reviews::decide(app, decider, org.id, started.id, account, decision, note),
        )
        .await
        .map_err(step(&format!("deciding on {local}'s access")))?;
    }
    Ok(())
}

/// The members' tickets on the support line, each living its month like
/// the desk's others; (tickets, by status, surveys answered).
pub async fn tickets(
    app: &App,
    data: &Data,
    staff: &Staff,
    orgs: [(&Org, &Founded); 2],
    span: Span,
    rng: &mut StdRng,
) -> Result<(usize, BTreeMap<String, usize>, usize), DemoError> {
    let mut statuses = BTreeMap::new();
    let mut made = 0;
    let mut answered = 0;
    for (org_data, org) in orgs {
        let count = org_data.tickets.len() as i64;
        for (k, ticket) in org_data.tickets.iter().enumerate() {
            let user = org.person(&ticket.by)?;
            // Spread over the month, the last a day before its end.
            let slot = (span.end - span.start - 3 * DAY_MS) / count.max(1);
            let at = span.start + 2 * DAY_MS + slot * k as i64 + rng.gen_range(0..slot / 2);
            let (_, status, rated) =
                tickets::one(app, data, staff, user, &ticket.text, at, k + 1, span, rng).await?;
            made += 1;
            *statuses.entry(status).or_default() += 1;
            answered += usize::from(rated);
        }
    }
    Ok((made, statuses, answered))
}
