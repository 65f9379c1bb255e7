//! A sign-in's score in the words a person reads on their history: low,
//! medium or high. The score alone ("Risk 0", "50") means nothing to them,
//! and beside "refused" or "allowed" it reads as a contradiction.

/// How risky a scored sign-in looked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum RiskLevel {
    /// Nothing unusual, or one weak signal (a new network).
    Low,
    /// Unusual enough to mention, not enough to ask for more.
    Medium,
    /// At or above the step-up score: the sign-in was asked for more.
    High,
}

impl RiskLevel {
    /// `low`, `medium` or `high`, for message ids and CSS.
    pub fn code(self) -> &'static str {
        match self {
            RiskLevel::Low => "low",
            RiskLevel::Medium => "medium",
            RiskLevel::High => "high",
        }
    }
}

/// The level of `score` where `step_up_score` asks for a second factor:
/// high from there, medium from half of it (a new device, 20 points, stays
/// low; a new device and a new network, 30, is medium), low below.
pub fn risk_level(score: i64, step_up_score: u8) -> RiskLevel {
    let step_up = i64::from(step_up_score.max(1));
    if score >= step_up {
        RiskLevel::High
    } else if score * 2 > step_up {
        RiskLevel::Medium
    } else {
        RiskLevel::Low
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn default_threshold_reads_as_people_expect() {
        let cases = [
            (0, RiskLevel::Low),
            (10, RiskLevel::Low),    // new network
            (20, RiskLevel::Low),    // new device
            (25, RiskLevel::Low),    // new country alone, half the threshold
            (30, RiskLevel::Medium), // new device and network
            (45, RiskLevel::Medium),
            (50, RiskLevel::High), // impossible travel: step-up
            (95, RiskLevel::High),
        ];
        for (score, level) in cases {
            assert_eq!(risk_level(score, 50), level, "score {score}");
        }
    }

    proptest! {
        #[test]
        fn level_never_falls_as_the_score_rises(a in -10i64..500, b in -10i64..500, t in 0u8..=255) {
            let (low, high) = if a <= b { (a, b) } else { (b, a) };
            prop_assert!(risk_level(low, t) <= risk_level(high, t));
        }

        #[test]
        fn high_is_exactly_where_step_up_starts(score in -10i64..500, t in 1u8..=255) {
            prop_assert_eq!(risk_level(score, t) == RiskLevel::High, score >= i64::from(t));
        }
    }
}
