//! Model prices and the cost of a call's [`Usage`].
//!
//! Prices come from configuration as a table of `(model prefix, Price)`; the **longest**
//! matching prefix wins (`gpt-4o-mini` before `gpt-4o`). An unknown model has no price:
//! its cost is *unknown*, never zero, so the caller can refuse or flag it instead of
//! silently spending.

use guardian_core::budget::cost_micros as core_cost;

use crate::Usage;

/// Prices in micro-dollars per million tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Price {
    /// Uncached input.
    pub input_per_mtok_micros: u64,
    /// Output (including reasoning tokens).
    pub output_per_mtok_micros: u64,
    /// Input served from the prompt cache (Anthropic ~0.1×, OpenAI ~0.5×/0.25× of input).
    pub cached_input_per_mtok_micros: u64,
}

/// The price of `model` by longest-prefix match, or `None` (cost unknown).
pub fn lookup(table: &[(&str, Price)], model: &str) -> Option<Price> {
    table
        .iter()
        .filter(|(prefix, _)| model.starts_with(prefix))
        .max_by_key(|(prefix, _)| prefix.len())
        .map(|(_, price)| *price)
}

/// Cost of `usage` in micro-dollars (rounded up), using guardian-core's budget arithmetic.
///
/// Cached reads are charged at the cached price; cache writes at the plain input price
/// (Anthropic bills them 1.25× — 2× for the 1-hour TTL —, so this undercounts them by that
/// margin; we do not write to the cache on purpose).
pub fn cost_micros(price: Price, usage: &Usage) -> u64 {
    let cached = usage.cached_input_tokens.min(usage.input_tokens);
    let uncached = usage.input_tokens - cached;
    core_cost(
        uncached,
        usage.output_tokens,
        price.input_per_mtok_micros,
        price.output_per_mtok_micros,
    )
    .saturating_add(core_cost(cached, 0, price.cached_input_per_mtok_micros, 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINI: Price = Price {
        input_per_mtok_micros: 150_000,
        output_per_mtok_micros: 600_000,
        cached_input_per_mtok_micros: 75_000,
    };
    const FULL: Price = Price {
        input_per_mtok_micros: 2_500_000,
        output_per_mtok_micros: 10_000_000,
        cached_input_per_mtok_micros: 1_250_000,
    };

    #[test]
    fn longest_prefix_wins_and_unknown_is_none() {
        let table = [("gpt-4o", FULL), ("gpt-4o-mini", MINI)];
        assert_eq!(lookup(&table, "gpt-4o-mini-2024-07-18"), Some(MINI));
        assert_eq!(lookup(&table, "gpt-4o-2024-08-06"), Some(FULL));
        assert_eq!(lookup(&table, "claude-haiku-4-5"), None);
    }

    #[test]
    fn cached_tokens_are_cheaper() {
        let usage = Usage {
            input_tokens: 1_000_000,
            cached_input_tokens: 400_000,
            output_tokens: 1_000,
            ..Usage::default()
        };
        // 600k × 2.5 $/M + 1k × 10 $/M + 400k × 1.25 $/M = 1.5 + 0.01 + 0.5 dollars.
        assert_eq!(cost_micros(FULL, &usage), 2_010_000);
        assert_eq!(cost_micros(FULL, &Usage::default()), 0);
    }
}
