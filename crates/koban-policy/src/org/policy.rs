//! An organization's security policy for its members, and what the
//! policies of every organization an account belongs to decide when that
//! account signs in.
//!
//! Every rule is off until an administrator sets it, and each decision
//! names the organization and the rule that made it, so a member who is
//! refused knows whom to ask. Where several organizations govern one
//! account the strictest answer wins: the lowest device limit, the shortest
//! session, and a refusal by any of them.
//!
//! Two-step verification is required Vaultwarden's way: a member without it
//! is told at each sign-in how long the grace period lasts, and after it the
//! organization (not the account) refuses them until they turn it on. A
//! refused sign-in would lock them out of the very settings that fix it.

use crate::risk::{Cidr, ClientVersion};
use serde::{Deserialize, Serialize};
use std::net::IpAddr;

/// The longest grace period for turning on two-step verification.
pub const MAX_GRACE_DAYS: u32 = 90;
/// Device limits an administrator may set.
pub const MAX_DEVICES: u32 = 100;
/// Session lifetimes an administrator may set: five minutes to a year.
pub const SESSION_MINUTES: (u32, u32) = (5, 525_600);
/// Password ages an administrator may set: a day to ten years.
pub const PASSWORD_DAYS: (u32, u32) = (1, 3_650);
/// Entries a list may hold.
pub const MAX_LIST: usize = 250;

const DAY_MS: i64 = 86_400_000;

/// What an organization asks of its members' accounts. `None` and empty
/// lists leave a rule off.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Policy {
    /// Two-step verification required, with this many days of grace.
    pub two_factor_grace_days: Option<u32>,
    pub max_devices: Option<u32>,
    /// ISO 3166 alpha-2 codes sign-ins may come from; a sign-in whose
    /// country is unknown is refused while the list is set.
    pub allowed_countries: Vec<String>,
    pub allowed_networks: Vec<Cidr>,
    pub session_lifetime_minutes: Option<u32>,
    pub password_max_age_days: Option<u32>,
    /// Apps older than this are refused; browsers send no version.
    pub min_client_version: Option<ClientVersion>,
}

/// One rule of a [`Policy`]; its wire name is [`Rule::as_str`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    TwoFactor,
    MaxDevices,
    AllowedCountries,
    AllowedNetworks,
    SessionLifetime,
    PasswordAge,
    MinClientVersion,
}

impl Rule {
    pub const fn as_str(self) -> &'static str {
        match self {
            Rule::TwoFactor => "two_factor",
            Rule::MaxDevices => "max_devices",
            Rule::AllowedCountries => "allowed_countries",
            Rule::AllowedNetworks => "allowed_networks",
            Rule::SessionLifetime => "session_lifetime",
            Rule::PasswordAge => "password_age",
            Rule::MinClientVersion => "min_client_version",
        }
    }
}

/// A field of a policy that cannot be stored, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyError {
    pub field: &'static str,
    pub reason: &'static str,
}

impl Policy {
    /// The policy as stored: country codes upper-cased, lists sorted and
    /// without repeats; or the first field that is out of range.
    pub fn checked(mut self) -> Result<Policy, PolicyError> {
        let bad = |field, reason| Err(PolicyError { field, reason });
        if self
            .two_factor_grace_days
            .is_some_and(|d| d > MAX_GRACE_DAYS)
        {
            return bad("two_factor_grace_days", "out_of_range");
        }
        if self.max_devices.is_some_and(|n| n == 0 || n > MAX_DEVICES) {
            return bad("max_devices", "out_of_range");
        }
        let in_range =
            |v: Option<u32>, (lo, hi): (u32, u32)| v.is_none_or(|v| (lo..=hi).contains(&v));
        if !in_range(self.session_lifetime_minutes, SESSION_MINUTES) {
            return bad("session_lifetime_minutes", "out_of_range");
        }
        if !in_range(self.password_max_age_days, PASSWORD_DAYS) {
            return bad("password_max_age_days", "out_of_range");
        }
        if self.allowed_countries.len() > MAX_LIST {
            return bad("allowed_countries", "too_many");
        }
        if self.allowed_networks.len() > MAX_LIST {
            return bad("allowed_networks", "too_many");
        }
        for code in &mut self.allowed_countries {
            let upper = code.trim().to_ascii_uppercase();
            if upper.len() != 2 || !upper.bytes().all(|b| b.is_ascii_uppercase()) {
                return bad("allowed_countries", "invalid_country");
            }
            *code = upper;
        }
        self.allowed_countries.sort();
        self.allowed_countries.dedup();
        self.allowed_networks
            .sort_by_key(|n| (n.network(), n.prefix()));
        self.allowed_networks.dedup();
        Ok(self)
    }

    /// The rules this policy sets.
    pub fn rules(&self) -> Vec<Rule> {
        let mut rules = Vec::new();
        let mut on = |set: bool, rule| {
            if set {
                rules.push(rule)
            }
        };
        on(self.two_factor_grace_days.is_some(), Rule::TwoFactor);
        on(self.max_devices.is_some(), Rule::MaxDevices);
        on(!self.allowed_countries.is_empty(), Rule::AllowedCountries);
        on(!self.allowed_networks.is_empty(), Rule::AllowedNetworks);
        on(
            self.session_lifetime_minutes.is_some(),
            Rule::SessionLifetime,
        );
        on(self.password_max_age_days.is_some(), Rule::PasswordAge);
        on(self.min_client_version.is_some(), Rule::MinClientVersion);
        rules
    }
}

/// An organization's policy over one of its members.
#[derive(Debug, Clone, PartialEq)]
pub struct Governing {
    pub org_id: i64,
    pub org_name: String,
    pub policy: Policy,
    /// When the grace period for two-step verification began for this
    /// member: the later of the rule's start and the member's joining.
    pub grace_from_ms: i64,
}

/// Which organization's which rule made a decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Source {
    pub organization_id: i64,
    pub organization: String,
    pub rule: Rule,
}

impl Source {
    pub fn of(governing: &Governing, rule: Rule) -> Source {
        Source {
            organization_id: governing.org_id,
            organization: governing.org_name.clone(),
            rule,
        }
    }
}

/// A limit and the policy that set it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limit {
    pub value: i64,
    pub source: Source,
}

/// Two-step verification owed to an organization.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TwoFactorOwed {
    #[serde(flatten)]
    pub source: Source,
    /// Until when the organization still lets the member in without it.
    pub deadline_ms: i64,
    /// The deadline has passed: the organization refuses the member.
    pub overdue: bool,
}

/// What a sign-in looks like to the policies.
#[derive(Debug, Clone)]
pub struct SignIn<'a> {
    pub ip: IpAddr,
    pub country: Option<&'a str>,
    pub client_version: Option<&'a str>,
    pub password_changed_at_ms: i64,
    pub two_factor_on: bool,
    pub now_ms: i64,
}

/// What the policies decide for a sign-in.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Verdict {
    /// The first rule that refuses the sign-in.
    pub refused: Option<Source>,
    pub max_devices: Option<Limit>,
    pub session_lifetime_ms: Option<Limit>,
    pub two_factor_owed: Vec<TwoFactorOwed>,
}

/// The policies' decision for a sign-in. Refusals are checked organization
/// by organization in the order given, rule by rule in [`Policy::rules`]
/// order, so the same sign-in always names the same rule.
pub fn judge_sign_in(governing: &[Governing], sign_in: &SignIn) -> Verdict {
    let mut verdict = Verdict::default();
    for g in governing {
        if verdict.refused.is_none() {
            verdict.refused = refusal(&g.policy, sign_in).map(|rule| Source::of(g, rule));
        }
        let tighter =
            |limit: &Option<Limit>, value: i64| limit.as_ref().is_none_or(|l| value < l.value);
        if let Some(n) = g.policy.max_devices {
            if tighter(&verdict.max_devices, n as i64) {
                verdict.max_devices = Some(Limit {
                    value: n as i64,
                    source: Source::of(g, Rule::MaxDevices),
                });
            }
        }
        if let Some(minutes) = g.policy.session_lifetime_minutes {
            let ms = minutes as i64 * 60_000;
            if tighter(&verdict.session_lifetime_ms, ms) {
                verdict.session_lifetime_ms = Some(Limit {
                    value: ms,
                    source: Source::of(g, Rule::SessionLifetime),
                });
            }
        }
        if let Some(owed) = two_factor_owed(g, sign_in.two_factor_on, sign_in.now_ms) {
            verdict.two_factor_owed.push(owed);
        }
    }
    verdict
}

/// Whether `governing` still owes its two-step verification rule for a
/// member whose second factor is `two_factor_on`, and until when.
pub fn two_factor_owed(
    governing: &Governing,
    two_factor_on: bool,
    now_ms: i64,
) -> Option<TwoFactorOwed> {
    let days = governing.policy.two_factor_grace_days?;
    if two_factor_on {
        return None;
    }
    let deadline_ms = governing.grace_from_ms.saturating_add(days as i64 * DAY_MS);
    Some(TwoFactorOwed {
        source: Source::of(governing, Rule::TwoFactor),
        deadline_ms,
        overdue: now_ms >= deadline_ms,
    })
}

fn refusal(policy: &Policy, sign_in: &SignIn) -> Option<Rule> {
    if !policy.allowed_countries.is_empty()
        && !sign_in.country.is_some_and(|c| {
            policy
                .allowed_countries
                .iter()
                .any(|a| a.eq_ignore_ascii_case(c))
        })
    {
        return Some(Rule::AllowedCountries);
    }
    if !policy.allowed_networks.is_empty()
        && !crate::risk::any_contains(&policy.allowed_networks, sign_in.ip)
    {
        return Some(Rule::AllowedNetworks);
    }
    if let Some(days) = policy.password_max_age_days {
        if sign_in.now_ms - sign_in.password_changed_at_ms > days as i64 * DAY_MS {
            return Some(Rule::PasswordAge);
        }
    }
    if let (Some(least), Some(sent)) = (&policy.min_client_version, sign_in.client_version) {
        // A version that does not parse is no proof of being new enough.
        if sent.parse::<ClientVersion>().map_or(true, |v| v < *least) {
            return Some(Rule::MinClientVersion);
        }
    }
    None
}
