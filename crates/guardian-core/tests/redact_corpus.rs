//! Corpus test: per-category positives must be masked (secret gone, category counted) and
//! negatives must survive byte-identical. The corpus lives in `fixtures/redact/corpus.yaml`;
//! token-shaped values there are templates expanded here, so nothing scanner-bait is committed.

use std::collections::{BTreeMap, HashMap};

use guardian_core::redact::{Category, Redactor, is_clean};
use serde::Deserialize;

const CORPUS: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../fixtures/redact/corpus.yaml"
));

#[derive(Deserialize)]
struct Corpus {
    categories: BTreeMap<Category, Cases>,
    negatives: Vec<String>,
}

#[derive(Deserialize)]
struct Cases {
    #[serde(default)]
    positives: Vec<Positive>,
    #[serde(default)]
    negatives: Vec<String>,
}

#[derive(Deserialize)]
struct Positive {
    text: String,
    #[serde(default)]
    secrets: Vec<String>,
}

fn corpus() -> Corpus {
    match yaml_serde::from_str(CORPUS) {
        Ok(c) => c,
        Err(e) => panic!("fixtures/redact/corpus.yaml does not parse: {e}"),
    }
}

/// Deterministic generator seeded from the case text, so failures reproduce.
struct Gen(u64);

impl Gen {
    fn new(seed: &str) -> Self {
        // FNV-1a
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in seed.bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        Gen(h | 1)
    }

    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn pick(&mut self, alphabet: &[u8]) -> char {
        let len = u64::try_from(alphabet.len()).unwrap_or(1);
        let i = usize::try_from(self.next() % len).unwrap_or(0);
        char::from(alphabet[i])
    }

    /// `n` chars from `alphabet`, with the first chars forced from `must` so shape rules that
    /// want mixed classes always see them.
    fn string(&mut self, n: usize, alphabet: &[u8], must: &[&[u8]]) -> String {
        let mut s: String = must.iter().take(n).map(|a| self.pick(a)).collect();
        while s.len() < n {
            s.push(self.pick(alphabet));
        }
        s
    }
}

const UPPER: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const LOWER: &[u8] = b"abcdefghijklmnopqrstuvwxyz";
const DIGITS: &[u8] = b"0123456789";
const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const B64URL: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const HEX: &[u8] = b"0123456789abcdef";

fn expand_one(spec: &str, g: &mut Gen) -> String {
    let mut parts = spec.split(':');
    let kind = parts.next().unwrap_or_default();
    if kind == "dash5" {
        return "-----".to_owned();
    }
    let n: usize = parts.next().and_then(|n| n.parse().ok()).unwrap_or(16);
    match kind {
        "alnum" => g.string(n, ALNUM, &[UPPER, LOWER, DIGITS]),
        "b64" => g.string(n, B64, &[UPPER, LOWER, DIGITS]),
        "b64url" => g.string(n, B64URL, &[UPPER, LOWER, DIGITS]),
        "hex" => g.string(n, HEX, &[b"abcdef", DIGITS, b"abcdef", DIGITS]),
        "upper" => g.string(n, b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", &[UPPER, DIGITS]),
        "lower" => g.string(n, b"abcdefghijklmnopqrstuvwxyz0123456789", &[LOWER, DIGITS]),
        "digits" => g.string(n, DIGITS, &[]),
        other => panic!("unknown corpus template kind {other:?}"),
    }
}

/// Expands `{{kind:n[:label]}}` templates; the same template text expands identically within
/// one case (`memo`), so `secrets` can refer to values planted in `text`.
fn expand(s: &str, memo: &mut HashMap<String, String>, g: &mut Gen) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(open) = rest.find("{{") {
        let Some(close) = rest[open..].find("}}") else {
            break;
        };
        let spec = &rest[open + 2..open + close];
        if !spec.starts_with(|c: char| c.is_ascii_lowercase()) || spec.contains(' ') {
            // Not a template (e.g. `{{ .Values.x }}`): copy verbatim.
            out.push_str(&rest[..open + close + 2]);
            rest = &rest[open + close + 2..];
            continue;
        }
        out.push_str(&rest[..open]);
        let v = memo
            .entry(spec.to_owned())
            .or_insert_with(|| expand_one(spec, g))
            .clone();
        out.push_str(&v);
        rest = &rest[open + close + 2..];
    }
    out.push_str(rest);
    out
}

struct Case {
    text: String,
    secrets: Vec<String>,
}

fn positive(p: &Positive) -> Case {
    let mut memo = HashMap::new();
    let mut g = Gen::new(&p.text);
    let text = expand(&p.text, &mut memo, &mut g);
    let secrets = p
        .secrets
        .iter()
        .map(|s| expand(s, &mut memo, &mut g))
        .collect();
    Case { text, secrets }
}

fn negative(n: &str) -> String {
    expand(n, &mut HashMap::new(), &mut Gen::new(n))
}

#[test]
fn corpus_positives_are_masked() {
    let r = Redactor::default();
    let mut failures = Vec::new();
    for (category, cases) in &corpus().categories {
        for p in &cases.positives {
            let case = positive(p);
            let (out, receipt) = r.redact_text(&case.text);
            if out == case.text {
                failures.push(format!("[{category}] unchanged: {:?}", case.text));
                continue;
            }
            for s in &case.secrets {
                if out.contains(s.as_str()) {
                    failures.push(format!("[{category}] secret {s:?} survived in {out:?}"));
                }
            }
            if receipt.get(*category) == 0 {
                failures.push(format!(
                    "[{category}] not counted: {:?} -> {out:?} receipt {receipt:?}",
                    case.text
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn corpus_negatives_are_byte_identical() {
    let r = Redactor::default();
    let c = corpus();
    let all = c
        .categories
        .iter()
        .flat_map(|(cat, cases)| cases.negatives.iter().map(move |n| (cat.as_str(), n)))
        .chain(c.negatives.iter().map(|n| ("global", n)));
    let mut failures = Vec::new();
    for (label, n) in all {
        let text = negative(n);
        let (out, receipt) = r.redact_text(&text);
        if out != text || !receipt.is_empty() {
            failures.push(format!("[{label}] changed: {text:?}\n      -> {out:?}"));
        }
        if !is_clean(&r, &text) {
            failures.push(format!("[{label}] is_clean false for {text:?}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn every_text_category_has_corpus_positives() {
    let c = corpus();
    let missing: Vec<&str> = Category::ALL
        .iter()
        .filter(|cat| !cat.is_structural())
        .filter(|cat| {
            c.categories
                .get(cat)
                .is_none_or(|cases| cases.positives.is_empty())
        })
        .map(Category::as_str)
        .collect();
    assert!(
        missing.is_empty(),
        "categories without corpus positives: {missing:?}"
    );
}

#[test]
fn redacting_twice_changes_nothing_on_the_corpus() {
    let r = Redactor::default();
    for cases in corpus().categories.values() {
        for p in &cases.positives {
            let once = r.redact_text(&positive(p).text).0;
            let (twice, receipt) = r.redact_text(&once);
            assert_eq!(twice, once);
            assert!(
                receipt.is_empty(),
                "second pass counted {receipt:?} on {once:?}"
            );
        }
    }
}

#[test]
fn category_names_match_serde() {
    for c in Category::ALL {
        let json = serde_json::to_string(c).unwrap_or_default();
        assert_eq!(json, format!("\"{}\"", c.as_str()));
        let back: Category = serde_json::from_str(&json).unwrap_or(Category::KnownSecret);
        assert_eq!(back, *c);
    }
}

#[test]
fn reference_behaviour_examples() {
    // Reference implementation checklist (design/reference-behaviour.md §9, "Sanitizer").
    let r = Redactor::default();
    let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJFWEFNUExFIn0.EXAMPLEsignatureEXAMPLE";
    let cases = [
        (format!("Authorization: Bearer {jwt}"), "EXAMPLEsignature"),
        ("DB_PASSWORD=hunter2".to_owned(), "hunter2"),
        ("password: 'hunter2'".to_owned(), "hunter2"),
        ("postgresql://app:hunter2@db:5432/x".to_owned(), "hunter2"),
        (format!("token={jwt}"), "EXAMPLEsignature"),
        ("body: password=secret123&user=bob".to_owned(), "secret123"),
        (
            r#"{"access_token": "EXAMPLEaccess123"}"#.to_owned(),
            "EXAMPLEaccess123",
        ),
    ];
    for (text, secret) in cases {
        let (out, _) = r.redact_text(&text);
        assert!(!out.contains(secret), "{secret} survived: {out}");
    }
    let (out, _) = r.redact_text("postgres://app:hunter2@db.internal:5432/x");
    assert_eq!(
        out, "postgres://app:[REDACTED:url_password#1]@db.internal:5432/x",
        "host and user kept"
    );
    for benign in [
        "INFO starting server on :8080",
        "Connection refused ... port 5432",
        "user: bob",
        "",
    ] {
        assert!(is_clean(&r, benign), "{benign}");
    }
}
