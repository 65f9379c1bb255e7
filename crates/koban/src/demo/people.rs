//! The people: the administrator, a supervisor, agents in three teams with
//! their calendars, and requesters who sign in from their phones (devices
//! and sign-in history), a few with 2FA, a few locked out.

use super::data::{People, Place, LANGS};
use super::{step, DemoError, Progress, Size, DAY_MS, HOUR_MS};
use crate::accounts::sessions::{self, Current};
use crate::desk::admin::routing::{self, DeskMemberInput, DeskTeamInput};
use crate::security::client::ClientContext;
use crate::security::geo::Place as GeoPlace;
use crate::security::signin::{self, Outcome};
use crate::state::App;
use crate::store::{as_of, now_ms};
use crate::web::i18n::Lang;
use rand::rngs::StdRng;
use rand::Rng;

/// A signed-in member of staff.
pub struct Agent {
    pub identifier: String,
    pub current: Current,
    pub team: String,
}

pub struct Staff {
    pub admin: Current,
    pub supervisor: Current,
    pub agents: Vec<Agent>,
}

/// A requester, signed in from their phone.
pub struct User {
    pub identifier: String,
    pub current: Current,
    pub lang: &'static str,
    pub region: String,
    pub zone: &'static str,
    place: Place,
    number: usize,
}

/// The time zone a language's requesters live in.
pub(super) fn zone_of(lang: &str) -> &'static str {
    match lang {
        "ja" => "Asia/Tokyo",
        "th" => "Asia/Bangkok",
        "zh-TW" => "Asia/Taipei",
        "zh-CN" => "Asia/Shanghai",
        _ => "Asia/Singapore",
    }
}

/// The request a phone (or a browser, `second`) would make.
pub(super) fn context(place: &Place, number: usize, lang: &str, second: bool) -> ClientContext {
    let (device, platform, agent) = match second {
        false => (
            place.device.clone(),
            place.platform.clone(),
            place.agent.clone(),
        ),
        true => (
            "Chrome on macOS".to_string(),
            "web".to_string(),
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) Chrome/131.0".to_string(),
        ),
    };
    let octet = 10 + number % 240;
    ClientContext {
        ip: format!("{}{octet}", place.ip)
            .parse()
            .unwrap_or(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST)),
        user_agent: Some(agent),
        device_key: format!("demo-{number}-{platform}"),
        device_key_is_new: false,
        device_name: device,
        platform,
        client_version: Some("14.2.0".into()),
        place: GeoPlace {
            country: Some(place.country.clone()),
            location: None,
        },
        lang: Lang::parse(lang).unwrap_or(Lang::En),
    }
}

/// Creates a verified account with `role`; its id.
async fn create(app: &App, identifier: &str, password: &str, role: &str) -> Result<i64, DemoError> {
    let contact = koban_policy::contact::parse_identifier(identifier, None)
        .map_err(step(&format!("reading {identifier}")))?;
    crate::accounts::service::create_verified(app, &contact, password, role)
        .await
        .map_err(step(&format!("creating {identifier}")))
}

/// Signs in as a person would (risk scoring, device, history); the
/// session, or None when the risk engine asked for more than a password.
pub(super) async fn sign_in(
    app: &App,
    identifier: &str,
    password: &str,
    ctx: &ClientContext,
) -> Result<Option<Current>, DemoError> {
    let contact = koban_policy::contact::parse_identifier(identifier, None)
        .map_err(step(&format!("reading {identifier}")))?;
    let what = format!("signing in as {identifier}");
    match signin::sign_in(app, &contact, password, ctx)
        .await
        .map_err(step(&what))?
    {
        Outcome::SignedIn { session, .. } => sessions::authenticate(app, &session.token)
            .await
            .map(Some)
            .map_err(step(&what)),
        _ => Ok(None),
    }
}

/// A person who must end up signed in.
async fn signed_in(
    app: &App,
    identifier: &str,
    password: &str,
    ctx: &ClientContext,
) -> Result<Current, DemoError> {
    sign_in(app, identifier, password, ctx)
        .await?
        .ok_or_else(|| DemoError::Step {
            step: format!("signing in as {identifier}"),
            error: "a second factor was asked for".into(),
        })
}

/// The staff, their calendars and teams, as of `at`.
pub async fn staff(app: &App, people: &People, at: i64) -> Result<Staff, DemoError> {
    as_of(at, async {
        let office = Place {
            country: "JP".into(),
            ip: "203.0.113.".into(),
            platform: "web".into(),
            device: "Office PC".into(),
            agent: "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/131.0".into(),
        };
        let admin_id = create(app, &people.admin, &people.password_admin, "admin").await?;
        let admin = signed_in(
            app,
            &people.admin,
            &people.password_admin,
            &context(&office, 1, "en", false),
        )
        .await?;
        create(app, &people.supervisor, &people.password_agent, "supervisor").await?;
        let supervisor = signed_in(
            app,
            &people.supervisor,
            &people.password_agent,
            &context(&office, 2, "en", false),
        )
        .await?;
        let mut agents = Vec::new();
        for team in &people.teams {
            let spec = serde_json::json!({ "zone": team.zone, "week": team.week, "holidays": team.holidays });
            let calendar_id = routing::save_calendar(app, admin_id, None, &team.calendar, &spec)
                .await
                .map_err(step(&format!("saving the calendar {}", team.calendar)))?;
            let input = DeskTeamInput {
                slug: team.slug.clone(),
                name: team.name.clone(),
                languages: team.languages.clone(),
                regions: team.regions.clone(),
                categories: vec![],
                skills: vec![],
                calendar_id,
                enterprise_queue: false,
            };
            routing::save_team(app, admin_id, &input, true)
                .await
                .map_err(step(&format!("saving the team {}", team.slug)))?;
            for identifier in &team.agents {
                let id = create(app, identifier, &people.password_agent, "agent").await?;
                let member = DeskMemberInput {
                    cap: 40,
                    available: true,
                };
                routing::save_member(app, admin_id, &team.slug, id, &member)
                    .await
                    .map_err(step(&format!("adding {identifier} to {}", team.slug)))?;
                let ctx = context(&office, 3 + agents.len(), &team.languages[0], false);
                let current = signed_in(app, identifier, &people.password_agent, &ctx).await?;
                agents.push(Agent {
                    identifier: identifier.clone(),
                    current,
                    team: team.slug.clone(),
                });
            }
        }
        Ok(Staff {
            admin,
            supervisor,
            agents,
        })
    })
    .await
}

/// The requesters: made and first signed in during the days before
/// `start`; some sign in again from a browser during the month.
pub async fn users(
    app: &App,
    people: &People,
    size: Size,
    rng: &mut StdRng,
    start: i64,
    progress: Progress<'_>,
) -> Result<Vec<User>, DemoError> {
    let mut chosen = Vec::new();
    for lang in LANGS {
        let names = people.users.get(lang).map(Vec::as_slice).unwrap_or(&[]);
        for name in names.iter().take(size.users_per_language()) {
            chosen.push((lang, name));
        }
    }
    let total = chosen.len() as u64;
    let mut users = Vec::new();
    for (number, (lang, name)) in chosen.into_iter().enumerate() {
        progress("requesters", number as u64, total);
        let place = people.places.get(lang).ok_or_else(|| DemoError::Step {
            step: "reading the demo's data".into(),
            error: format!("no place for {lang}"),
        })?;
        let identifier = format!("{name}@example.net");
        let joined = start - rng.gen_range(DAY_MS..20 * DAY_MS);
        let current = as_of(joined, async {
            create(app, &identifier, &people.password_user, "user").await?;
            let ctx = context(place, 20 + number, lang, false);
            signed_in(app, &identifier, &people.password_user, &ctx).await
        })
        .await?;
        if number % 3 == 1 {
            // A browser too: a second device, which the risk engine may
            // question; either way the history shows it.
            let later = start + rng.gen_range(0..25 * DAY_MS);
            let ctx = context(place, 20 + number, lang, true);
            as_of(
                later,
                sign_in(app, &identifier, &people.password_user, &ctx),
            )
            .await?;
        }
        users.push(User {
            identifier,
            current,
            lang,
            region: place.country.clone(),
            zone: zone_of(lang),
            place: Place {
                country: place.country.clone(),
                ip: place.ip.clone(),
                platform: place.platform.clone(),
                device: place.device.clone(),
                agent: place.agent.clone(),
            },
            number,
        });
    }
    progress("requesters", total, total);
    Ok(users)
}

/// Today's last touches: one requester in four turns on an authenticator
/// app; a few (never the first, whose sign-in is printed) are locked out
/// by someone guessing their password. Returns (2FA on, locked).
pub async fn finish(
    app: &App,
    users: &[User],
    rng: &mut StdRng,
) -> Result<(usize, usize), DemoError> {
    let mut two_factor = 0;
    for user in users.iter().skip(1).step_by(4) {
        let at = now_ms() - rng.gen_range(HOUR_MS..3 * DAY_MS);
        as_of(at, turn_on_two_factor(app, user)).await?;
        two_factor += 1;
    }
    let mut locked = 0;
    for user in users.iter().skip(2).step_by(9) {
        // Someone else guessing, from elsewhere, until sign-in locks.
        let mut ctx = context(&user.place, 200 + user.number, user.lang, true);
        ctx.device_key = format!("demo-intruder-{}", user.number);
        ctx.device_name = "Unknown device".into();
        let contact = koban_policy::contact::parse_identifier(&user.identifier, None)
            .map_err(step("reading an identifier"))?;
        for guess in 0..20 {
            match signin::sign_in(app, &contact, &format!("guess number {guess}x"), &ctx).await {
                Err(crate::accounts::AccountError::Locked { .. }) => {
                    locked += 1;
                    break;
                }
                Err(crate::accounts::AccountError::BadCredentials)
                | Err(crate::accounts::AccountError::BadCredentialsLastTry) => {}
                Err(e) => return Err(step(&format!("locking {}", user.identifier))(e)),
                Ok(_) => break,
            }
        }
    }
    Ok((two_factor, locked))
}

/// `user` turns on an authenticator app, now (as the clock says).
pub async fn turn_on_two_factor(app: &App, user: &User) -> Result<(), DemoError> {
    use crate::security::totp;
    let what = format!("turning on 2FA for {}", user.identifier);
    let enrollment = totp::begin(app, &user.current).await.map_err(step(&what))?;
    let secret = totp::base32_decode(&enrollment.secret).ok_or_else(|| DemoError::Step {
        step: what.clone(),
        error: "the secret does not read".into(),
    })?;
    let code = totp::code_at(&secret, totp::step_of(now_ms()));
    totp::confirm(app, &user.current, &code)
        .await
        .map_err(step(&what))?;
    Ok(())
}

/// A new account, `identifier`, made and first signed in from its phone
/// at `place` at `at` (`number` tells its device and address apart).
pub async fn newcomer(
    app: &App,
    identifier: &str,
    password: &str,
    lang: &'static str,
    place: &Place,
    number: usize,
    at: i64,
) -> Result<User, DemoError> {
    let current = as_of(at, async {
        create(app, identifier, password, "user").await?;
        signed_in(
            app,
            identifier,
            password,
            &context(place, number, lang, false),
        )
        .await
    })
    .await?;
    Ok(User {
        identifier: identifier.to_string(),
        current,
        lang,
        region: place.country.clone(),
        zone: zone_of(lang),
        place: place.clone(),
        number,
    })
}
