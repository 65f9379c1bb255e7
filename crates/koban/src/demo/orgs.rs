//! The enterprise side, founded: a Tokyo trading company on the
//! enterprise plan and a Bangkok shop on the standard one, each created by
//! its owner the day before the month begins, then filled as its
//! administrators would — the plan set by the desk's administrator, the
//! company's email domain proven by a code to its admin mailbox (read from
//! the development outbox, as a person trying Koban would), a custom role,
//! people invited (each accepting with the link of their message) or
//! joining through the proven domain, and some of the desk's requesters
//! invited as members. Everything through the enterprise services, so each
//! step is in the organization's audit chain.

use super::data::{Org, OrgPerson, People, Place};
use super::people::{self, Staff, User};
use super::{step, DemoError, Progress, HOUR_MS};
use crate::delivery::api::{outbox_page, DeliveryView};
use crate::enterprise::{domains, invites, orgs, roles};
use crate::http::pagination::PageQuery;
use crate::state::App;
use crate::store::as_of;
use crate::web::i18n::Lang;

const MINUTE_MS: i64 = 60_000;

/// One organization as founded: its id, and its own people in the order of
/// the demo's data (the owner first).
pub struct Founded {
    pub id: i64,
    pub people: Vec<(String, User)>,
    /// The desk's requesters who were invited and joined.
    pub requesters: usize,
    /// The key of its custom role, if it has one.
    pub custom_role: Option<String>,
    pub lang: Lang,
}

impl Founded {
    /// The person whose address starts with `local`.
    pub fn person(&self, local: &str) -> Result<&User, DemoError> {
        self.people
            .iter()
            .find(|(l, _)| l == local)
            .map(|(_, u)| u)
            .ok_or_else(|| DemoError::Step {
                step: "reading the demo's organizations".into(),
                error: format!("nobody called {local}"),
            })
    }

    pub fn owner(&self) -> &User {
        &self.people[0].1
    }

    /// Members in all: its own people and the requesters who joined.
    pub fn members(&self) -> usize {
        self.people.len() + self.requesters
    }
}

fn place_of<'a>(people: &'a People, org: &Org) -> Result<&'a Place, DemoError> {
    people
        .places
        .get(&org.place)
        .ok_or_else(|| DemoError::Step {
            step: "reading the demo's organizations".into(),
            error: format!("no place {}", org.place),
        })
}

/// The language `org` writes in, as the demo's users carry it.
fn lang_of(org: &Org) -> &'static str {
    super::data::LANGS
        .into_iter()
        .find(|l| *l == org.lang)
        .unwrap_or("en")
}

/// The newest message of `purpose` to `destination` in the development
/// outbox (the demo refuses to run when mail would really leave).
async fn outbox_body(app: &App, purpose: &str, destination: &str) -> Result<String, DemoError> {
    let what = format!("reading the {purpose} message to {destination}");
    let page = outbox_page(
        app,
        &PageQuery {
            cursor: None,
            limit: Some(100),
        },
    )
    .await
    .map_err(|p| DemoError::Step {
        step: what.clone(),
        error: format!("{p:?}"),
    })?;
    page.items
        .into_iter()
        .find(|d: &DeliveryView| d.purpose == purpose && d.destination == destination)
        .and_then(|d| d.body)
        .ok_or_else(|| DemoError::Step {
            step: what,
            error: "not in the outbox".into(),
        })
}

/// The invitation link's token in a message's body.
fn token_in(body: &str) -> Option<&str> {
    body.split("/invites/")
        .nth(1)?
        .split(|c: char| c.is_whitespace() || c == '"' || c == '<')
        .next()
        .filter(|t| !t.is_empty())
}

/// The first run of exactly eight digits in a message's body: the code.
fn code_in(body: &str) -> Option<&str> {
    body.split(|c: char| !c.is_ascii_digit())
        .find(|run| run.len() == 8)
}

/// `by` invites `contact` with `roles` at `at`; the token of the link in
/// the message sent.
async fn invite(
    app: &App,
    org: &Founded,
    by: &User,
    (contact, name): (&str, &str),
    roles: &[String],
    at: i64,
) -> Result<String, DemoError> {
    let what = format!("inviting {contact}");
    as_of(
        at,
        invites::invite(
            app,
            by.current.account.id,
            org.id,
            invites::Invitation {
                contact,
                region: None,
                display_name: name,
                roles,
                lang: org.lang,
            },
        ),
    )
    .await
    .map_err(step(&what))?;
    let body = outbox_body(app, invites::PURPOSE, contact).await?;
    token_in(&body)
        .map(str::to_string)
        .ok_or_else(|| DemoError::Step {
            step: what,
            error: "no link in the invitation".into(),
        })
}

/// `account_id` accepts the invitation of `token` at `at`.
async fn accept(app: &App, account_id: i64, token: &str, at: i64) -> Result<(), DemoError> {
    as_of(
        at,
        invites::decide(app, account_id, invites::Proof::Token(token), true),
    )
    .await
    .map_err(step("accepting an invitation"))?;
    Ok(())
}

/// Proves `org`'s domain by the code to its admin mailbox, and lets people
/// with an address there join on their own.
async fn prove_domain(
    app: &App,
    data: &Org,
    org: &Founded,
    mailbox: &str,
    at: i64,
) -> Result<(), DemoError> {
    let owner = org.owner().current.account.id;
    let what = format!("proving {}", data.domain);
    as_of(
        at,
        domains::claim(app, owner, org.id, &data.domain, "email", Some(mailbox)),
    )
    .await
    .map_err(step(&what))?;
    let body = outbox_body(app, domains::PURPOSE, &format!("{mailbox}@{}", data.domain)).await?;
    let code = code_in(&body).ok_or_else(|| DemoError::Step {
        step: what.clone(),
        error: "no code in the message".into(),
    })?;
    as_of(
        at + 10 * MINUTE_MS,
        domains::verify(app, owner, org.id, &data.domain, Some(code)),
    )
    .await
    .map_err(step(&what))?;
    as_of(
        at + 12 * MINUTE_MS,
        domains::set_auto_join(app, owner, org.id, &data.domain, true),
    )
    .await
    .map_err(step(&what))?;
    Ok(())
}

/// The roles `person` is invited with.
fn roles_of(person: &OrgPerson, custom: Option<&String>) -> Vec<String> {
    match (person.role.as_deref(), custom) {
        (Some("custom"), Some(key)) => vec![key.clone()],
        (Some(role), _) => vec![role.to_string()],
        (None, _) => vec!["member".to_string()],
    }
}

/// What founding needs besides the organization's own data.
pub struct Setting<'a> {
    pub people: &'a People,
    pub staff: &'a Staff,
    pub users: &'a [User],
    /// The first account number its people's devices are told apart by.
    pub numbers: usize,
    /// When the owner creates it.
    pub at: i64,
    pub plan: &'a str,
}

/// Founds `data` as `setting` says.
pub async fn found(
    app: &App,
    data: &Org,
    setting: Setting<'_>,
    progress: Progress<'_>,
) -> Result<Founded, DemoError> {
    let place = place_of(setting.people, data)?;
    let lang = lang_of(data);
    let password = &setting.people.password_user;
    let address = |p: &OrgPerson| format!("{}@{}", p.local, data.domain);
    let owner_data = &data.people[0];
    let mut at = setting.at;
    let owner = people::newcomer(
        app,
        &address(owner_data),
        password,
        lang,
        place,
        setting.numbers,
        at - 5 * super::DAY_MS,
    )
    .await?;
    let created = as_of(
        at,
        orgs::create(app, owner.current.account.id, &data.name, &data.description),
    )
    .await
    .map_err(step(&format!("creating {}", data.name)))?;
    let mut org = Founded {
        id: created.id,
        people: vec![(owner_data.local.clone(), owner)],
        requesters: 0,
        custom_role: None,
        lang: Lang::parse(lang).unwrap_or(Lang::En),
    };
    if setting.plan != "standard" {
        at += 30 * MINUTE_MS;
        as_of(
            at,
            orgs::set_plan(app, setting.staff.admin.account.id, org.id, setting.plan),
        )
        .await
        .map_err(step("setting the plan"))?;
    }
    if let Some(mailbox) = &data.mailbox {
        at += 30 * MINUTE_MS;
        prove_domain(app, data, &org, mailbox, at).await?;
    }
    if let Some(role) = &data.custom_role {
        at += HOUR_MS;
        let made = as_of(
            at,
            roles::write(
                app,
                org.owner().current.account.id,
                org.id,
                None,
                &role.name,
                &role.permissions,
            ),
        )
        .await
        .map_err(step(&format!("making the role {}", role.name)))?;
        org.custom_role = Some(made.key);
    }
    let total = (data.people.len() + setting.users.len()) as u64;
    for (n, person) in data.people.iter().enumerate().skip(1) {
        progress("organizations", n as u64, total);
        at += 20 * MINUTE_MS;
        let contact = address(person);
        let number = setting.numbers + n;
        let user = if person.join == "domain" {
            let user = people::newcomer(app, &contact, password, lang, place, number, at).await?;
            let what = format!("{contact} joining by domain");
            as_of(
                at + 5 * MINUTE_MS,
                domains::join(app, user.current.account.id, org.id),
            )
            .await
            .map_err(step(&what))?;
            user
        } else {
            let roles = roles_of(person, org.custom_role.as_ref());
            let token =
                invite(app, &org, org.owner(), (&contact, &person.name), &roles, at).await?;
            let user =
                people::newcomer(app, &contact, password, lang, place, number, at + MINUTE_MS)
                    .await?;
            accept(app, user.current.account.id, &token, at + 10 * MINUTE_MS).await?;
            user
        };
        org.people.push((person.local.clone(), user));
    }
    // Some of the desk's requesters work there too, invited by an
    // administrator (the owner when there is none).
    let by = match data
        .people
        .iter()
        .find(|p| p.role.as_deref() == Some("admin"))
    {
        Some(admin) => org.person(&admin.local)?,
        None => org.owner(),
    };
    let mut joined = 0;
    for (k, user) in setting
        .users
        .iter()
        .filter(|u| u.lang == data.requesters)
        .enumerate()
    {
        progress("organizations", (data.people.len() + k) as u64, total);
        at += 15 * MINUTE_MS;
        let name = user
            .identifier
            .split('@')
            .next()
            .unwrap_or_default()
            .replace('.', " ");
        let roles = ["member".to_string()];
        let token = invite(app, &org, by, (&user.identifier, &name), &roles, at).await?;
        accept(app, user.current.account.id, &token, at + 10 * MINUTE_MS).await?;
        joined += 1;
    }
    org.requesters = joined;
    Ok(org)
}
