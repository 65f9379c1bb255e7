//! The desk's reports as pure folds over what the store read: ticket
//! volume, first-response and resolution times (median and p90), SLA
//! attainment and triage corrections, each for the tickets created in a
//! [`Range`] and grouped by one dimension. Backlog, which needs each
//! ticket's history instead, is in `report_backlog`.

use super::report_range::Range;
use std::collections::BTreeMap;

/// What a report groups by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum By {
    Day,
    Channel,
    Category,
    Team,
    Priority,
}

impl By {
    pub const ALL: [By; 5] = [By::Day, By::Channel, By::Category, By::Team, By::Priority];

    pub const fn as_str(self) -> &'static str {
        match self {
            By::Day => "day",
            By::Channel => "channel",
            By::Category => "category",
            By::Team => "team",
            By::Priority => "priority",
        }
    }
}

/// The reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Report {
    Volume,
    Times,
    Sla,
    Backlog,
    Triage,
}

impl Report {
    pub const ALL: [Report; 5] = [
        Report::Volume,
        Report::Times,
        Report::Sla,
        Report::Backlog,
        Report::Triage,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Report::Volume => "volume",
            Report::Times => "times",
            Report::Sla => "sla",
            Report::Backlog => "backlog",
            Report::Triage => "triage",
        }
    }

    pub fn parse(name: &str) -> Option<Report> {
        Report::ALL.into_iter().find(|r| r.as_str() == name)
    }

    /// What the report may be grouped by, its default first.
    pub const fn dimensions(self) -> &'static [By] {
        match self {
            Report::Volume => &[By::Day, By::Channel, By::Category],
            Report::Times => &[By::Team, By::Channel, By::Category],
            Report::Sla => &[By::Team, By::Channel, By::Category, By::Priority],
            Report::Backlog => &[By::Day],
            // Per category triage chose: the only grouping that says
            // which of its choices agents overrule.
            Report::Triage => &[By::Category],
        }
    }

    /// The grouping `name` asks for (the default when absent); `None` for
    /// one this report does not offer.
    pub fn by(self, name: Option<&str>) -> Option<By> {
        match name.map(str::trim).filter(|n| !n.is_empty()) {
            None => Some(self.dimensions()[0]),
            Some(name) => self
                .dimensions()
                .iter()
                .copied()
                .find(|b| b.as_str() == name),
        }
    }
}

/// Where a ticket's SLA target stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Met,
    Breached,
    /// Still running (or paused) and not yet due: counts neither way.
    Pending,
}

/// A stored clock's state read at `now`. A running clock past its due
/// instant is breached even before the SLA job has marked it so.
pub fn outcome(state: &str, due_at: Option<i64>, now: i64) -> Option<Outcome> {
    match state {
        "met" => Some(Outcome::Met),
        "breached" => Some(Outcome::Breached),
        "running" if due_at.is_some_and(|due| due <= now) => Some(Outcome::Breached),
        "running" | "paused" => Some(Outcome::Pending),
        _ => None,
    }
}

/// What a report needs of one ticket.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ticket {
    pub created_at: i64,
    pub channel: String,
    pub category: String,
    /// The team's slug; `None` while no team has it.
    pub team: Option<String>,
    pub priority: String,
    /// The first public agent reply.
    pub first_reply_at: Option<i64>,
    pub solved_at: Option<i64>,
    pub first_response_sla: Option<Outcome>,
    pub resolution_sla: Option<Outcome>,
    /// The category triage chose, when triage chose it (not the requester).
    pub triaged: Option<String>,
    /// Whether an agent ever changed the category.
    pub category_changed: bool,
}

impl Ticket {
    /// The group the ticket falls in; `None` outside the range (by day).
    /// No team is the empty key.
    fn key(&self, by: By, range: &Range) -> Option<String> {
        Some(match by {
            By::Day => range.days()[range.day_of(self.created_at)?].to_string(),
            By::Channel => self.channel.clone(),
            By::Category => self.category.clone(),
            By::Team => self.team.clone().unwrap_or_default(),
            By::Priority => self.priority.clone(),
        })
    }

    /// How long the first public reply took (ms).
    pub fn first_response_ms(&self) -> Option<i64> {
        self.first_reply_at
            .map(|at| at - self.created_at)
            .filter(|ms| *ms >= 0)
    }

    /// How long until solved (ms).
    pub fn resolution_ms(&self) -> Option<i64> {
        self.solved_at
            .map(|at| at - self.created_at)
            .filter(|ms| *ms >= 0)
    }
}

/// The `p`th percentile (0 to 100) of sorted values, interpolated between
/// the closest ranks as a spreadsheet's PERCENTILE.INC does (so the median
/// of an even count is the mean of the middle two), to the millisecond
/// below.
pub fn percentile(sorted: &[i64], p: u32) -> Option<i64> {
    let n = sorted.len();
    if n == 0 {
        return None;
    }
    let p = u128::from(p.min(100));
    let scaled = p * (n as u128 - 1);
    let low = (scaled / 100) as usize;
    let fraction = (scaled % 100) as i128;
    let high = (low + 1).min(n - 1);
    let (a, b) = (i128::from(sorted[low]), i128::from(sorted[high]));
    Some((a + ((b - a) * fraction).div_euclid(100)) as i64)
}

/// Count, median and p90 of durations (ms).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    pub count: u64,
    pub median_ms: Option<i64>,
    pub p90_ms: Option<i64>,
}

/// The [`Stats`] of `values`.
pub fn stats(mut values: Vec<i64>) -> Stats {
    values.sort_unstable();
    Stats {
        count: values.len() as u64,
        median_ms: percentile(&values, 50),
        p90_ms: percentile(&values, 90),
    }
}

/// Tickets of one group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group<T> {
    /// The day (YYYY-MM-DD), channel, category, team slug (empty for no
    /// team) or priority.
    pub key: String,
    pub tickets: u64,
    pub value: T,
}

/// Folds `tickets` into one value overall and one per group. Groups come
/// largest first (then by key); by day, every day of the range in order,
/// empty ones included, so a chart has no holes.
fn grouped<'t, A: Default, T>(
    tickets: impl IntoIterator<Item = &'t Ticket>,
    range: &Range,
    by: By,
    mut add: impl FnMut(&mut A, &'t Ticket),
    finish: impl Fn(A) -> T,
) -> (Group<T>, Vec<Group<T>>) {
    let mut all = (0u64, A::default());
    let mut groups: BTreeMap<String, (u64, A)> = BTreeMap::new();
    if by == By::Day {
        for day in range.days() {
            groups.insert(day.to_string(), (0, A::default()));
        }
    }
    for ticket in tickets {
        let Some(key) = ticket.key(by, range) else {
            continue;
        };
        let group = groups.entry(key).or_default();
        group.0 += 1;
        add(&mut group.1, ticket);
        all.0 += 1;
        add(&mut all.1, ticket);
    }
    let mut out: Vec<Group<T>> = groups
        .into_iter()
        .map(|(key, (tickets, acc))| Group {
            key,
            tickets,
            value: finish(acc),
        })
        .collect();
    if by != By::Day {
        out.sort_by(|a, b| b.tickets.cmp(&a.tickets).then_with(|| a.key.cmp(&b.key)));
    }
    let overall = Group {
        key: String::new(),
        tickets: all.0,
        value: finish(all.1),
    };
    (overall, out)
}

/// Tickets created, overall and per group.
pub fn volume(tickets: &[Ticket], range: &Range, by: By) -> (Group<()>, Vec<Group<()>>) {
    grouped(tickets, range, by, |_: &mut (), _| {}, |_| ())
}

/// First-response and resolution times.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Times {
    pub first_response: Stats,
    pub resolution: Stats,
}

/// Times overall and per group: the first public reply of every ticket
/// answered, the solving of every ticket solved (a ticket solved, reopened
/// and solved again counts its last solving).
pub fn times(tickets: &[Ticket], range: &Range, by: By) -> (Group<Times>, Vec<Group<Times>>) {
    grouped(
        tickets,
        range,
        by,
        |acc: &mut (Vec<i64>, Vec<i64>), t| {
            acc.0.extend(t.first_response_ms());
            acc.1.extend(t.resolution_ms());
        },
        |(first, resolution)| Times {
            first_response: stats(first),
            resolution: stats(resolution),
        },
    )
}

/// How many targets were met, breached, and are still open.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Attainment {
    pub met: u64,
    pub breached: u64,
    pub pending: u64,
}

impl Attainment {
    fn add(&mut self, outcome: Option<Outcome>) {
        match outcome {
            Some(Outcome::Met) => self.met += 1,
            Some(Outcome::Breached) => self.breached += 1,
            Some(Outcome::Pending) => self.pending += 1,
            None => {}
        }
    }

    /// The share of decided targets that were met, in thousandths rounded
    /// half up; `None` while none is decided. Pending targets count
    /// neither way: they may still be met.
    pub fn permille(&self) -> Option<u32> {
        share_permille(self.met, self.met + self.breached)
    }
}

/// `part / whole` in thousandths, rounded half up; `None` for no whole.
pub fn share_permille(part: u64, whole: u64) -> Option<u32> {
    if whole == 0 {
        return None;
    }
    let (part, whole) = (u128::from(part.min(whole)), u128::from(whole));
    Some(((part * 2000 + whole) / (2 * whole)) as u32)
}

/// First-response and resolution targets.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sla {
    pub first_response: Attainment,
    pub resolution: Attainment,
}

/// SLA attainment overall and per group, from the stored clocks.
pub fn sla(tickets: &[Ticket], range: &Range, by: By) -> (Group<Sla>, Vec<Group<Sla>>) {
    grouped(
        tickets,
        range,
        by,
        |acc: &mut Sla, t| {
            acc.first_response.add(t.first_response_sla);
            acc.resolution.add(t.resolution_sla);
        },
        |acc| acc,
    )
}

/// Of the tickets whose category triage chose, how many agents corrected:
/// changed it so that triage's choice no longer stands.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Corrections {
    pub corrected: u64,
}

/// Triage corrections overall and per category triage chose. Tickets
/// whose requester chose the category are left out: there was nothing of
/// triage's to correct.
pub fn triage(tickets: &[Ticket], range: &Range) -> (Group<Corrections>, Vec<Group<Corrections>>) {
    // Grouped by the category triage chose, not the one the ticket has now.
    let as_triaged: Vec<Ticket> = tickets
        .iter()
        .filter_map(|t| {
            let triaged = t.triaged.clone()?;
            let corrected = t.category_changed && t.category != triaged;
            Some(Ticket {
                category: triaged,
                category_changed: corrected,
                created_at: t.created_at,
                ..Ticket::default()
            })
        })
        .collect();
    grouped(
        &as_triaged,
        range,
        By::Category,
        |acc: &mut Corrections, t| acc.corrected += u64::from(t.category_changed),
        |acc| acc,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;
    use jiff::tz::TimeZone;
    use proptest::prelude::*;

    #[test]
    fn percentiles_interpolate_like_a_spreadsheet() {
        assert_eq!(percentile(&[], 50), None);
        assert_eq!(percentile(&[7], 90), Some(7));
        assert_eq!(percentile(&[10, 20], 50), Some(15));
        assert_eq!(percentile(&[1, 2, 3, 4], 50), Some(2));
        // PERCENTILE.INC({10,20,30,40,50}, 0.9) = 46.
        assert_eq!(percentile(&[10, 20, 30, 40, 50], 90), Some(46));
        assert_eq!(percentile(&[60_000, 120_000, 600_000], 90), Some(504_000));
    }

    #[test]
    fn attainment_counts_decided_targets_only() {
        let a = Attainment {
            met: 2,
            breached: 1,
            pending: 5,
        };
        assert_eq!(a.permille(), Some(667));
        assert_eq!(Attainment::default().permille(), None);
        assert_eq!(outcome("running", Some(10), 10), Some(Outcome::Breached));
        assert_eq!(outcome("running", Some(11), 10), Some(Outcome::Pending));
        assert_eq!(outcome("paused", None, 10), Some(Outcome::Pending));
        assert_eq!(outcome("gone", None, 10), None);
    }

    #[test]
    fn unknown_groupings_are_refused() {
        assert_eq!(Report::Volume.by(None), Some(By::Day));
        assert_eq!(Report::Times.by(Some("channel")), Some(By::Channel));
        assert_eq!(Report::Times.by(Some("day")), None);
        assert_eq!(Report::Backlog.by(Some("team")), None);
    }

    #[test]
    fn a_correction_is_a_category_triage_chose_that_did_not_stand() {
        let r = Range::new(date(2026, 1, 1), date(2026, 1, 1), &TimeZone::UTC).expect("range");
        let at = r.start_ms();
        let t = |triaged: Option<&str>, now: &str, changed| Ticket {
            created_at: at,
            triaged: triaged.map(str::to_string),
            category: now.into(),
            category_changed: changed,
            ..Ticket::default()
        };
        let tickets = [
            t(Some("spam_report"), "cannot_sign_in", true),
            t(Some("spam_report"), "spam_report", true), // changed back
            t(Some("spam_report"), "spam_report", false),
            t(None, "other", true), // the requester chose
        ];
        let (all, groups) = triage(&tickets, &r);
        assert_eq!((all.tickets, all.value.corrected), (3, 1));
        assert_eq!(groups.len(), 1);
        assert_eq!(groups[0].key, "spam_report");
    }

    proptest! {
        #[test]
        fn a_percentile_lies_between_the_ranks_around_it(
            mut values in prop::collection::vec(0i64..1_000_000_000, 1..50), p in 0u32..=100,
        ) {
            values.sort_unstable();
            let v = percentile(&values, p).expect("some");
            prop_assert!(values[0] <= v && v <= values[values.len() - 1]);
            let at_or_below = values.iter().filter(|x| **x <= v).count();
            // At least the share p of the values are at or below it.
            prop_assert!(at_or_below * 100 + 100 > (p as usize) * (values.len() - 1));
            prop_assert!(percentile(&values, 50) <= percentile(&values, 90));
        }

        #[test]
        fn groups_add_up_to_the_whole(
            picks in prop::collection::vec((0usize..3, 0usize..3, 0i64..(5 * 86_400_000)), 0..60),
            by in prop::sample::select(vec![By::Day, By::Channel, By::Category, By::Team]),
        ) {
            let r = Range::new(date(2026, 1, 1), date(2026, 1, 3), &TimeZone::UTC).expect("range");
            let tickets: Vec<Ticket> = picks.iter().map(|(c, k, off)| Ticket {
                created_at: r.start_ms() + off,
                channel: ["web", "email", "line"][*c].into(),
                category: ["a", "b", "c"][*k].into(),
                team: (*k > 0).then(|| "t".to_string()),
                ..Ticket::default()
            }).collect();
            let (all, groups) = volume(&tickets, &r, by);
            prop_assert_eq!(all.tickets, groups.iter().map(|g| g.tickets).sum::<u64>());
            let inside = tickets.iter().filter(|t| t.created_at < r.end_ms()).count() as u64;
            prop_assert_eq!(all.tickets, if by == By::Day { inside } else { tickets.len() as u64 });
            if by == By::Day {
                prop_assert_eq!(groups.len(), 3);
            }
        }
    }
}
