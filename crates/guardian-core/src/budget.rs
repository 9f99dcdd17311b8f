//! LLM spend windows as plain arithmetic. The store persists what was spent; this decides
//! whether the next call fits. Check with an estimate before the call, charge the real usage
//! after it.

use crate::time::Millis;

/// Limits of one window (hour or day). `None` = unlimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Limits {
    /// Most tokens (input + output).
    pub tokens: Option<u64>,
    /// Most cost in micro-dollars.
    pub cost_micros: Option<u64>,
}

/// What was spent inside one window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Spent {
    /// Tokens used.
    pub tokens: u64,
    /// Cost in micro-dollars.
    pub cost_micros: u64,
}

/// Why a call may not be made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Denied {
    /// The token limit of the window would be exceeded.
    #[error("the {window} token budget would be exceeded")]
    Tokens {
        /// `hourly` or `daily`.
        window: &'static str,
    },
    /// The cost limit of the window would be exceeded.
    #[error("the {window} cost budget would be exceeded")]
    Cost {
        /// `hourly` or `daily`.
        window: &'static str,
    },
}

/// Whether a call estimated at `estimate` fits the window.
pub fn check(
    window: &'static str,
    limits: Limits,
    spent: Spent,
    estimate: Spent,
) -> Result<(), Denied> {
    if limits
        .tokens
        .is_some_and(|max| spent.tokens.saturating_add(estimate.tokens) > max)
    {
        return Err(Denied::Tokens { window });
    }
    if limits
        .cost_micros
        .is_some_and(|max| spent.cost_micros.saturating_add(estimate.cost_micros) > max)
    {
        return Err(Denied::Cost { window });
    }
    Ok(())
}

/// Start of the window of `length_ms` that contains `now` (fixed windows aligned to the epoch,
/// so every replica computes the same boundaries).
pub fn window_start(now: Millis, length_ms: Millis) -> Millis {
    if length_ms <= 0 {
        return now;
    }
    now - now.rem_euclid(length_ms)
}

/// Cost in micro-dollars of a call, from per-million-token prices in micro-dollars.
pub fn cost_micros(
    input_tokens: u64,
    output_tokens: u64,
    input_price: u64,
    output_price: u64,
) -> u64 {
    let scaled = u128::from(input_tokens) * u128::from(input_price)
        + u128::from(output_tokens) * u128::from(output_price);
    u64::try_from(scaled.div_ceil(1_000_000)).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_inclusive_and_unlimited_when_absent() {
        let limits = Limits {
            tokens: Some(100),
            cost_micros: None,
        };
        let spent = Spent {
            tokens: 60,
            cost_micros: 10,
        };
        assert_eq!(
            check(
                "hourly",
                limits,
                spent,
                Spent {
                    tokens: 40,
                    cost_micros: 999
                }
            ),
            Ok(())
        );
        assert_eq!(
            check(
                "hourly",
                limits,
                spent,
                Spent {
                    tokens: 41,
                    cost_micros: 0
                }
            ),
            Err(Denied::Tokens { window: "hourly" })
        );
        assert_eq!(
            check(
                "daily",
                Limits::default(),
                spent,
                Spent {
                    tokens: u64::MAX,
                    cost_micros: u64::MAX
                }
            ),
            Ok(())
        );
    }

    #[test]
    fn windows_align_and_cost_rounds_up() {
        assert_eq!(window_start(3_700_000, 3_600_000), 3_600_000);
        assert_eq!(cost_micros(1_000, 0, 3_000_000, 0), 3_000);
        assert_eq!(cost_micros(1, 0, 1, 0), 1);
    }
}
