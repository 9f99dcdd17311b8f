//! Redaction of everything that leaves the process: LLM requests, stored context,
//! notifications, logs and API responses. There is no switch to turn it off.
//!
//! # Passes, in order
//!
//! 1. **Structural** ([`RedactionSession::json`] only). Kubernetes objects, alert payloads and
//!    kubeconfigs are redacted by *key path* before any regex runs: `Secret` `data`/`stringData`
//!    values, the `last-applied-configuration` annotation (it can hold a whole Secret in clear),
//!    container `env[].value` (references in `valueFrom` are kept), `command`/`args`, kubeconfig
//!    `users[].user` credentials, and every string under a secret-looking key. Structure is exact
//!    and catches low-entropy passwords (`hunter2`) that no token shape would.
//! 2. **Configured known values** (exact strings: our own API keys, webhook URLs). They run first
//!    in the text pass, before the regex rules, because a rule that rewrote *part* of a known
//!    value (say the password inside a webhook URL) would stop the exact match and leak the rest.
//! 3. **Token shapes** ([`rules`]): PEM keys, JWTs, cloud and SaaS prefixes, authorization
//!    headers, cookies, URL userinfo and query secrets, connection strings, then key-driven
//!    `key=value` / JSON / YAML / flag rules, then high-entropy blobs near secret keywords. Exact
//!    shapes run before broad rules so they give the most specific category.
//!
//! # Placeholders
//!
//! A masked value becomes `[REDACTED:<category>#<n>]`, numbered per category from 1 within one
//! [`RedactionSession`] (one incident): the same value always gets the same placeholder, so the
//! model can still see that the token in the log line is the one in the header. Placeholders are
//! built so that no rule matches them, which makes redaction idempotent; the session recognises
//! them strictly (`[REDACTED:` alone shields nothing). Values are remembered by SHA-256 digest
//! only, and nothing maps a placeholder back to its value.
//!
//! # Choices
//!
//! * Recall over precision: over-redaction is cheap, a leak is not. Diagnosis-critical look-alikes
//!   (image digests, container ids, git SHAs, UIDs, trace ids, generated names, `secretName`
//!   references, numeric settings, `${VAR}` placeholders) are spared by key name and shape.
//! * URLs with userinfo keep scheme, user and host; only the password is masked
//!   (`postgres://app:[REDACTED:url_password#1]@db:5432/app`): which account and which host
//!   failed are what an SRE needs, the password is not.
//! * All container `env[].value`s are dropped in the structural pass, not only secret-looking
//!   names: the policy is "env values never leave", and env names outside any keyword
//!   list (`MYSQL_ROOT_PW`, `DB_PASS2`) are a known false-negative trap.
//! * The receipt counts masked *occurrences* per detected category; it never holds values.

mod heuristics;
mod receipt;
mod rules;
mod structural;

use std::collections::HashMap;
use std::sync::Arc;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use sha2::{Digest, Sha256};

pub use receipt::{Category, Receipt};
use rules::{Hit, PLACEHOLDER, RULES};

/// Configured secrets shorter than this are ignored: they would match ordinary words.
pub const MIN_KNOWN_VALUE_LEN: usize = 8;

/// The redaction engine. Built once at start-up; cloning is cheap (shared state is behind an
/// `Arc`, the rule set is a process-wide static).
#[derive(Clone, Default)]
pub struct Redactor {
    known: Option<Arc<AhoCorasick>>,
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the configured values.
        f.debug_struct("Redactor")
            .field(
                "known_values",
                &self.known.as_ref().map_or(0, |k| k.patterns_len()),
            )
            .finish()
    }
}

impl Redactor {
    /// A redactor that also masks these exact values (category `known_secret`), plus their
    /// JSON-escaped and percent-encoded forms. Values shorter than [`MIN_KNOWN_VALUE_LEN`]
    /// characters, or that could occur inside a placeholder, are ignored.
    pub fn new(known_values: impl IntoIterator<Item = String>) -> Self {
        let mut patterns: Vec<String> = Vec::new();
        for v in known_values {
            if v.chars().count() < MIN_KNOWN_VALUE_LEN || could_be_in_placeholder(&v) {
                continue;
            }
            let escaped = json_escape(&v);
            let encoded = percent_encode(&v);
            for p in [v, escaped, encoded] {
                if !patterns.contains(&p) {
                    patterns.push(p);
                }
            }
        }
        // Touch the rule set now so regex compilation happens at start-up, not on the first
        // incident.
        warm_up();
        if patterns.is_empty() {
            return Self { known: None };
        }
        let built = AhoCorasickBuilder::new()
            .match_kind(MatchKind::LeftmostLongest)
            .build(&patterns);
        // Building only fails past internal size limits; fall back to per-value search rather
        // than silently dropping configured secrets.
        match built {
            Ok(ac) => Self {
                known: Some(Arc::new(ac)),
            },
            Err(_) => {
                let ac = AhoCorasickBuilder::new()
                    .match_kind(MatchKind::LeftmostLongest)
                    .kind(Some(aho_corasick::AhoCorasickKind::NoncontiguousNFA))
                    .build(&patterns)
                    .ok();
                Self {
                    known: ac.map(Arc::new),
                }
            }
        }
    }

    /// Starts a per-incident session: the same value gets the same placeholder everywhere in it.
    pub fn session(&self) -> RedactionSession<'_> {
        RedactionSession {
            redactor: self,
            seen: HashMap::new(),
            next: HashMap::new(),
            receipt: Receipt::new(),
        }
    }

    /// One-shot text redaction with a fresh session.
    pub fn redact_text(&self, text: &str) -> (String, Receipt) {
        let mut s = self.session();
        let out = s.text(text);
        (out, s.into_receipt())
    }

    /// One-shot structural + text redaction of a JSON value with a fresh session.
    pub fn redact_json(&self, value: &serde_json::Value) -> (serde_json::Value, Receipt) {
        let mut s = self.session();
        let out = s.json(value);
        (out, s.into_receipt())
    }
}

/// Compiles the rule set (process-wide, once).
fn warm_up() {
    std::sync::LazyLock::force(&RULES);
    std::sync::LazyLock::force(&PLACEHOLDER);
}

/// True when `text` contains nothing the redactor would change.
pub fn is_clean(redactor: &Redactor, text: &str) -> bool {
    redactor.redact_text(text).1.is_empty()
}

/// Redaction state for one incident: placeholder numbering and the receipt.
pub struct RedactionSession<'r> {
    redactor: &'r Redactor,
    /// SHA-256 of a masked value → its placeholder. Digests, not values, so a long-lived session
    /// holds no secret material.
    seen: HashMap<[u8; 32], String>,
    next: HashMap<Category, u64>,
    receipt: Receipt,
}

impl std::fmt::Debug for RedactionSession<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedactionSession")
            .field("receipt", &self.receipt)
            .finish_non_exhaustive()
    }
}

impl RedactionSession<'_> {
    /// Redacts free text (logs, event messages, annotations, titles).
    ///
    /// Passes repeat until nothing changes: a placeholder inserted by a late rule can give an
    /// earlier rule a word boundary it did not have (`…A0_password=x` once `…A0` is masked), and
    /// the output must be clean for *every* rule, which is what makes a second call a no-op.
    /// Every effective pass removes secret characters and adds only placeholders, so this ends;
    /// the cap bounds the work on adversarial input.
    pub fn text(&mut self, text: &str) -> String {
        const MAX_PASSES: usize = 16;
        let mut cur = self.pass(text);
        if cur == text {
            return cur;
        }
        for _ in 1..MAX_PASSES {
            let next = self.pass(&cur);
            if next == cur {
                break;
            }
            cur = next;
        }
        cur
    }

    /// One run of the known values and every rule.
    fn pass(&mut self, text: &str) -> String {
        let mut cur = text.to_owned();
        let mut hits: Vec<Hit> = Vec::new();
        if let Some(ac) = self.redactor.known.clone() {
            hits.extend(ac.find_iter(&cur).map(|m| Hit {
                start: m.start(),
                end: m.end(),
                category: Category::KnownSecret,
            }));
            if !hits.is_empty() {
                cur = self.apply(&cur, &mut hits);
            }
        }
        for rule in RULES.iter() {
            hits.clear();
            let mut pos = 0;
            while pos <= cur.len() {
                let Some(caps) = rule.regex.captures_at(&cur, pos) else {
                    break;
                };
                let Some(m) = caps.get(0) else { break };
                (rule.action)(&caps, &cur, &mut hits);
                let resume = rule
                    .resume_after
                    .and_then(|g| caps.get(g))
                    .map_or(m.end(), |g| g.end());
                pos = if resume > m.start() {
                    resume
                } else {
                    // Zero-width or non-advancing match: step one character.
                    m.start() + cur[m.start()..].chars().next().map_or(1, char::len_utf8)
                };
            }
            if !hits.is_empty() {
                cur = self.apply(&cur, &mut hits);
            }
        }
        cur
    }

    /// Structural pass over a JSON value, then [`text`](Self::text) on every remaining string
    /// (keys included). Numbers, booleans and nulls are never changed.
    pub fn json(&mut self, value: &serde_json::Value) -> serde_json::Value {
        structural::redact(self, value)
    }

    /// What this session has masked so far.
    pub fn receipt(&self) -> &Receipt {
        &self.receipt
    }

    /// Ends the session, returning its receipt.
    pub fn into_receipt(self) -> Receipt {
        self.receipt
    }

    /// The placeholder for `value`, allocating the next number of `category` on first sight,
    /// and counts the occurrence.
    fn placeholder(&mut self, category: Category, value: &str) -> String {
        self.receipt.add(category, 1);
        let digest: [u8; 32] = Sha256::digest(value.as_bytes()).into();
        if let Some(p) = self.seen.get(&digest) {
            return p.clone();
        }
        let n = self.next.entry(category).or_insert(0);
        *n += 1;
        let p = format!("[REDACTED:{}#{}]", category.as_str(), n);
        self.seen.insert(digest, p.clone());
        p
    }

    /// Structural replacement of a whole value, unless it is already only placeholders.
    fn mask_whole(&mut self, category: Category, value: &str) -> Option<String> {
        if only_placeholders(value) {
            return None;
        }
        Some(self.placeholder(category, value))
    }

    /// Replaces hits in `text`. Hits that partially cover a placeholder are widened to cover it
    /// whole; hits that cover nothing but placeholders are dropped (that is what keeps a second
    /// pass a no-op); overlapping hits merge.
    fn apply(&mut self, text: &str, hits: &mut [Hit]) -> String {
        let placeholders: Vec<(usize, usize)> = if text.contains("[REDACTED:") {
            PLACEHOLDER
                .find_iter(text)
                .map(|m| (m.start(), m.end()))
                .collect()
        } else {
            Vec::new()
        };
        let mut normalized: Vec<Hit> = Vec::with_capacity(hits.len());
        for h in hits.iter() {
            if h.start >= h.end || h.end > text.len() {
                continue;
            }
            let (mut s, mut e) = (h.start, h.end);
            let first = placeholders.partition_point(|&(_, pe)| pe <= s);
            for &(ps, pe) in &placeholders[first..] {
                if ps >= e {
                    break;
                }
                s = s.min(ps);
                e = e.max(pe);
            }
            if !has_residue(text, s, e, &placeholders[first..]) {
                continue;
            }
            normalized.push(Hit {
                start: s,
                end: e,
                category: h.category,
            });
        }
        normalized.sort_by_key(|h| (h.start, std::cmp::Reverse(h.end)));
        let mut merged: Vec<Hit> = Vec::with_capacity(normalized.len());
        for h in normalized {
            match merged.last_mut() {
                Some(last) if h.start < last.end => last.end = last.end.max(h.end),
                _ => merged.push(h),
            }
        }
        let mut out = String::with_capacity(text.len());
        let mut pos = 0;
        for h in merged {
            // Every span comes from regex matches or ASCII-delimited arithmetic on them; guard
            // anyway so a rule bug degrades to over-redaction, never a panic.
            let (Some(before), Some(secret)) = (text.get(pos..h.start), text.get(h.start..h.end))
            else {
                continue;
            };
            out.push_str(before);
            let p = self.placeholder(h.category, secret);
            out.push_str(&p);
            pos = h.end;
        }
        out.push_str(text.get(pos..).unwrap_or_default());
        out
    }
}

/// True when `text[s..e]` has something other than placeholders, whitespace and brackets.
fn has_residue(text: &str, s: usize, e: usize, placeholders: &[(usize, usize)]) -> bool {
    let mut pos = s;
    let meaningful = |seg: &str| {
        seg.chars()
            .any(|c| !c.is_whitespace() && !"\"'[](){},;".contains(c))
    };
    for &(ps, pe) in placeholders.iter().take_while(|&&(ps, _)| ps < e) {
        if ps > pos && text.get(pos..ps).is_some_and(meaningful) {
            return true;
        }
        pos = pos.max(pe);
    }
    pos < e && text.get(pos..e).is_some_and(meaningful)
}

/// True when a string consists only of placeholders (and separators), e.g. a structural value
/// masked by an earlier pass.
fn only_placeholders(value: &str) -> bool {
    if !value.contains("[REDACTED:") {
        return false;
    }
    let spans: Vec<(usize, usize)> = PLACEHOLDER
        .find_iter(value)
        .map(|m| (m.start(), m.end()))
        .collect();
    !has_residue(value, 0, value.len(), &spans)
}

/// A configured value that could appear inside one of our placeholders would make redaction
/// non-idempotent (every placeholder would be re-masked).
fn could_be_in_placeholder(v: &str) -> bool {
    v.contains("REDACTED")
        || Category::ALL
            .iter()
            .any(|c| format!("[REDACTED:{}#", c.as_str()).contains(v))
}

fn json_escape(v: &str) -> String {
    let quoted = serde_json::Value::String(v.to_owned()).to_string();
    quoted[1..quoted.len() - 1].to_owned()
}

fn percent_encode(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for b in v.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
