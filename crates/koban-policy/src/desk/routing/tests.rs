//! Routing tables and assignment properties.

use super::*;
use crate::desk::forms::Category;
use jiff::Timestamp;
use proptest::prelude::*;

fn team(id: &str, languages: &[&str], regions: &[&str], categories: &[Category]) -> Team {
    Team {
        id: id.to_string(),
        languages: languages.iter().map(|s| s.to_string()).collect(),
        regions: regions.iter().map(|s| s.to_string()).collect(),
        categories: categories.to_vec(),
        skills: Vec::new(),
        enterprise_queue: false,
        open: true,
    }
}

/// A desk like the seed's: Japanese, Taiwanese, Thai and English teams, an
/// account-security team, a broadcast team and the enterprise line.
fn desk() -> Vec<Team> {
    use Category::*;
    let mut ent = team("t9-enterprise", &["ja", "zh-TW", "en"], &[], &[]);
    ent.enterprise_queue = true;
    let mut broadcast = team("t5-broadcast", &["en", "ja"], &[], &[BroadcastFailure]);
    broadcast.skills = vec!["broadcast".into()];
    vec![
        team("t1-ja", &["ja"], &["JP"], &[]),
        team("t2-tw", &["zh-TW"], &["TW", "HK"], &[]),
        team("t3-th", &["th"], &["TH"], &[]),
        team("t4-en", &["en"], &[], &[]),
        team(
            "t6-security-ja",
            &["ja"],
            &["JP"],
            &[AccountStolen, DeviceSecurity],
        ),
        team(
            "t7-security-en",
            &["en", "zh-TW"],
            &[],
            &[AccountStolen, DeviceSecurity],
        ),
        broadcast,
        ent,
    ]
}

fn facts(category: Category, language: Option<&str>, region: Option<&str>) -> TicketFacts {
    TicketFacts {
        category,
        language: language.map(str::to_string),
        region: region.map(str::to_string),
        skills: Vec::new(),
        enterprise: false,
    }
}

#[test]
fn routing_table() {
    use Category::*;
    let closed = |id: &str| {
        let mut teams = desk();
        for t in teams.iter_mut().filter(|t| t.id == id) {
            t.open = false;
        }
        teams
    };
    let ent = TicketFacts {
        enterprise: true,
        ..facts(BroadcastFailure, Some("ja"), Some("JP"))
    };
    let mut ent_teams = desk();
    ent_teams.push(Team {
        id: "t8-enterprise-2".into(),
        ..ent_teams[7].clone()
    });
    let no_ent: Vec<Team> = desk().into_iter().filter(|t| !t.enterprise_queue).collect();
    let cases: Vec<(&str, TicketFacts, Vec<Team>, &str, Decider)> = vec![
        (
            "ja sign-in",
            facts(CannotSignIn, Some("ja-JP"), Some("JP")),
            desk(),
            "t1-ja",
            Decider::Language,
        ),
        (
            "ja stolen goes to the specialists",
            facts(AccountStolen, Some("ja"), Some("JP")),
            desk(),
            "t6-security-ja",
            Decider::Language,
        ),
        (
            "tw stolen: language within specialists",
            facts(AccountStolen, Some("zh-TW"), None),
            desk(),
            "t7-security-en",
            Decider::Language,
        ),
        (
            "zh-CN is read by the zh-TW team",
            facts(Privacy, Some("zh-CN"), Some("CN")),
            desk(),
            "t2-tw",
            Decider::Language,
        ),
        (
            "th",
            facts(Other, Some("th"), Some("TH")),
            desk(),
            "t3-th",
            Decider::Language,
        ),
        (
            "region decides between equals",
            facts(Other, None, Some("TH")),
            desk(),
            "t3-th",
            Decider::Region,
        ),
        (
            "nothing known: lowest id",
            facts(Other, None, None),
            desk(),
            "t1-ja",
            Decider::LowestId,
        ),
        (
            "the runner-up, not the loser, sets the decider",
            facts(Other, None, None),
            closed("t1-ja"),
            "t2-tw",
            Decider::LowestId,
        ),
        (
            "closed loses to an open equal",
            facts(Other, None, None),
            closed("t1-ja")[..2].to_vec(),
            "t2-tw",
            Decider::Open,
        ),
        (
            "closed team that speaks ja still wins",
            facts(CannotSignIn, Some("ja"), Some("JP")),
            closed("t1-ja"),
            "t1-ja",
            Decider::Language,
        ),
        (
            "broadcast goes to its team",
            facts(BroadcastFailure, Some("th"), None),
            desk(),
            "t5-broadcast",
            Decider::Category,
        ),
        (
            "enterprise queue takes enterprise tickets",
            ent.clone(),
            desk(),
            "t9-enterprise",
            Decider::EnterpriseQueue,
        ),
        (
            "two enterprise queues: lowest id",
            ent.clone(),
            ent_teams,
            "t8-enterprise-2",
            Decider::LowestId,
        ),
        (
            "no enterprise queue: regular routing",
            ent,
            no_ent,
            "t5-broadcast",
            Decider::Category,
        ),
        (
            "no team for the category: default",
            facts(Privacy, Some("th"), None),
            desk()[4..7].to_vec(),
            "t4-en",
            Decider::Fallback,
        ),
    ];
    for (name, f, teams, want, decided_by) in cases {
        let got = route(&f, &teams, "t4-en");
        assert_eq!(
            (got.team.as_str(), got.reason.decided_by),
            (want, decided_by),
            "{name}"
        );
    }
}

#[test]
fn the_enterprise_queue_never_gets_personal_tickets() {
    let only_ent: Vec<Team> = desk().into_iter().filter(|t| t.enterprise_queue).collect();
    let got = route(
        &facts(Category::Other, Some("ja"), None),
        &only_ent,
        "t4-en",
    );
    assert_eq!(got.team, "t4-en");
    assert_eq!(got.reason.decided_by, Decider::Fallback);
}

#[test]
fn the_reason_describes_the_chosen_team() {
    let got = route(
        &facts(Category::AccountStolen, Some("ja"), Some("jp")),
        &desk(),
        "t4-en",
    );
    assert_eq!(
        got.reason,
        RouteReason {
            decided_by: Decider::Language,
            enterprise_queue: false,
            category: CategoryMatch::Listed,
            language: LanguageMatch::Exact,
            region: true,
            open: true,
        }
    );
}

#[test]
fn language_tags() {
    use LanguageMatch::*;
    let cases = [
        ("ja", "ja", Exact),
        ("ja-JP", "ja", Exact),
        ("zh_tw", "zh-TW", Exact),
        ("zh-TW", "zh-CN", Related),
        ("zh", "zh-TW", Related),
        ("th", "en", None),
        ("", "en", None),
    ];
    for (ticket, team, want) in cases {
        assert_eq!(language_match(ticket, team), want, "{ticket} / {team}");
    }
}

fn agent(id: &str, open: u32, cap: u32, available: bool, last: Option<i64>) -> AgentLoad {
    AgentLoad {
        id: id.to_string(),
        open_tickets: open,
        cap,
        available,
        last_assigned_at: last.map(|s| Timestamp::from_second(s).expect("test time")),
    }
}

#[test]
fn assignment_table() {
    let cases: Vec<(&str, Vec<AgentLoad>, Option<&str>)> = vec![
        ("nobody", vec![], None),
        (
            "all full or away",
            vec![
                agent("a", 5, 5, true, None),
                agent("b", 0, 5, false, None),
                agent("c", 0, 0, true, None),
            ],
            None,
        ),
        (
            "lowest ratio",
            vec![
                agent("a", 4, 10, true, Some(1)),
                agent("b", 3, 5, true, Some(0)),
            ],
            Some("a"),
        ),
        (
            "cap weighs: 4/20 beats 2/5",
            vec![
                agent("a", 2, 5, true, None),
                agent("b", 4, 20, true, Some(9)),
            ],
            Some("b"),
        ),
        (
            "equal ratio: longest ago",
            vec![
                agent("a", 1, 5, true, Some(200)),
                agent("b", 2, 10, true, Some(100)),
            ],
            Some("b"),
        ),
        (
            "never assigned comes first",
            vec![
                agent("a", 0, 5, true, Some(1)),
                agent("b", 0, 5, true, None),
            ],
            Some("b"),
        ),
        (
            "then lowest id",
            vec![agent("b", 0, 5, true, None), agent("a", 0, 5, true, None)],
            Some("a"),
        ),
        (
            "over cap is skipped",
            vec![agent("a", 7, 5, true, None), agent("b", 4, 5, true, None)],
            Some("b"),
        ),
    ];
    for (name, agents, want) in cases {
        assert_eq!(choose_agent(&agents), want, "{name}");
    }
}

fn any_agents() -> impl Strategy<Value = Vec<AgentLoad>> {
    proptest::collection::vec(
        (
            0u32..30,
            0u32..30,
            any::<bool>(),
            proptest::option::of(0i64..1_000),
        ),
        0..12,
    )
    .prop_map(|rows| {
        // Ids are unique, as in the database; their order is not the
        // input's, so the tie-break by id is exercised.
        rows.into_iter()
            .enumerate()
            .map(|(i, (open, cap, available, last))| {
                agent(
                    &format!("agent-{}", (i * 7) % 12),
                    open,
                    cap,
                    available,
                    last,
                )
            })
            .collect()
    })
}

proptest! {
    #[test]
    fn the_chosen_agent_is_eligible_and_least_loaded(agents in any_agents()) {
        let eligible = |a: &AgentLoad| a.available && a.open_tickets < a.cap;
        match choose_agent(&agents) {
            None => prop_assert!(!agents.iter().any(eligible)),
            Some(id) => {
                let chosen = agents.iter().find(|a| a.id == id && eligible(a));
                prop_assert!(chosen.is_some());
                let c = chosen.expect("checked");
                for other in agents.iter().filter(|a| eligible(a)) {
                    let (mine, theirs) = (
                        u64::from(c.open_tickets) * u64::from(other.cap),
                        u64::from(other.open_tickets) * u64::from(c.cap),
                    );
                    prop_assert!(mine <= theirs, "{:?} chosen over {:?}", c, other);
                }
            }
        }
    }

    #[test]
    fn assignment_ignores_input_order(mut agents in any_agents()) {
        let first = choose_agent(&agents).map(str::to_string);
        agents.reverse();
        // Equal rows may swap, but they share an id: the answer is the same.
        prop_assert_eq!(choose_agent(&agents).map(str::to_string), first);
    }

    #[test]
    fn routing_is_deterministic_and_never_leaves_a_ticket_unrouted(
        category in proptest::sample::select(Category::ALL.to_vec()),
        language in proptest::option::of(proptest::sample::select(vec!["ja", "zh-TW", "zh-CN", "th", "en", "ko"])),
        enterprise in any::<bool>(),
        open_mask in 0u8..=255,
    ) {
        let mut teams = desk();
        for (i, t) in teams.iter_mut().enumerate() {
            t.open = open_mask & (1 << i) != 0;
        }
        let f = TicketFacts { enterprise, ..facts(category, language, None) };
        let got = route(&f, &teams, "t4-en");
        let mut reversed = teams.clone();
        reversed.reverse();
        prop_assert_eq!(&route(&f, &reversed, "t4-en"), &got);
        prop_assert!(teams.iter().any(|t| t.id == got.team));
        prop_assert_eq!(got.reason.enterprise_queue, enterprise);
    }
}
