//! Property tests: planted secrets never survive, redaction is idempotent, never panics, and
//! placeholders are consistent within a session. Secret values are generated here, at test time.

use guardian_core::redact::{Redactor, is_clean};
use proptest::prelude::*;
use proptest::strategy::Union;
use regex::Regex;

/// A planted secret: the text to embed and the substring that must not survive.
#[derive(Debug, Clone)]
struct Plant {
    text: String,
    secret: String,
}

fn plant(text: String, secret: String) -> Plant {
    Plant { text, secret }
}

/// Random runs that always mix classes (shape rules look for machine-generated values).
fn mixed(len: usize) -> impl Strategy<Value = String> {
    proptest::string::string_regex(&format!("[A-Za-z0-9]{{{len}}}"))
        .unwrap_or_else(|e| panic!("strategy regex: {e}"))
        .prop_map(|s| format!("Qz7{s}"))
}

fn re_str(pattern: &str) -> impl Strategy<Value = String> + use<> {
    proptest::string::string_regex(pattern)
        .unwrap_or_else(|e| panic!("strategy regex {pattern}: {e}"))
}

fn planted() -> impl Strategy<Value = Plant> {
    let b64url = || re_str("[A-Za-z0-9_-]{30,60}");
    Union::new(vec![
        (b64url(), b64url())
            .prop_map(|(a, b)| plant(format!("eyJhbGciOiJSUzI1NiJ9.eyJ{a}.{b}"), b))
            .boxed(),
        re_str("[A-Z2-7]{16}")
            .prop_map(|k| plant(format!("AKIA{k}"), format!("AKIA{k}")))
            .boxed(),
        mixed(33).prop_map(|k| plant(format!("ghp_{k}"), k)).boxed(),
        mixed(20)
            .prop_map(|k| plant(format!("glpat-{k}"), k))
            .boxed(),
        mixed(24)
            .prop_map(|k| plant(format!("xoxb-1234567890-1234567890123-{k}"), k))
            .boxed(),
        mixed(24)
            .prop_map(|k| plant(format!("sk_live_{k}"), k))
            .boxed(),
        mixed(40)
            .prop_map(|k| plant(format!("sk-proj-{k}"), k))
            .boxed(),
        re_str("[A-Za-z0-9_-]{35}")
            .prop_map(|k| plant(format!("AIza{k}"), k))
            .boxed(),
        mixed(12)
            .prop_map(|pw| plant(format!("postgres://app:{pw}@db.internal:5432/app"), pw))
            .boxed(),
        mixed(12)
            .prop_map(|pw| plant(format!("redis://:{pw}@redis:6379"), pw))
            .boxed(),
        mixed(32)
            .prop_map(|t| plant(format!("Authorization: Bearer {t}"), t))
            .boxed(),
        mixed(10)
            .prop_map(|pw| plant(format!("DB_PASSWORD={pw}"), pw))
            .boxed(),
        mixed(10)
            .prop_map(|pw| plant(format!("\npassword: \"{pw}\"\n"), pw))
            .boxed(),
        mixed(10)
            .prop_map(|pw| plant(format!("{{\"api_key\": \"{pw}\"}}"), pw))
            .boxed(),
        mixed(10)
            .prop_map(|pw| plant(format!(" --token {pw} "), pw))
            .boxed(),
        mixed(10)
            .prop_map(|pw| plant(format!("client_secret={pw}"), pw))
            .boxed(),
        mixed(20)
            .prop_map(|v| plant(format!("Cookie: sid={v}; lang=en"), v))
            .boxed(),
        mixed(20)
            .prop_map(|v| plant(format!("X-Api-Key: {v}"), v))
            .boxed(),
        mixed(20)
            .prop_map(|v| plant(format!("https://x.example/cb?access_token={v}&a=b"), v))
            .boxed(),
        mixed(12)
            .prop_map(|v| plant(format!("Server=db;User Id=app;Password={v};"), v))
            .boxed(),
        (re_str("[A-Za-z0-9+/]{64}"), re_str("[A-Za-z0-9+/]{20,64}"))
            .prop_map(|(a, b)| {
                plant(
                    format!(
                        "-----BEGIN EC PRIVATE KEY-----\n{a}\n{b}\n-----END EC PRIVATE KEY-----"
                    ),
                    a,
                )
            })
            .boxed(),
        re_str("[A-Za-z0-9+/]{64}")
            .prop_map(|a| {
                plant(
                    format!("-----BEGIN PRIVATE KEY-----\\n{a}\\n-----END PRIVATE KEY-----\\n"),
                    a,
                )
            })
            .boxed(),
    ])
}

/// Surrounding noise: printable ASCII (where most rule interactions live) or any Unicode.
fn noise() -> impl Strategy<Value = String> {
    prop_oneof![
        re_str("[ -~]{0,40}"),
        re_str("\\PC{0,20}"),
        Just(String::new())
    ]
}

fn joiner() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![" ", "\n", "\t", " | ", "\n\n"])
}

/// Fragments that poke at rule boundaries; random sequences of them drive idempotence tests.
fn fragments() -> impl Strategy<Value = String> {
    let frag = prop::sample::select(vec![
        "password",
        "PASSWORD",
        "token",
        "secret",
        "api_key",
        "Authorization",
        "Bearer ",
        "Basic ",
        "Cookie",
        "Set-Cookie",
        "X-Api-Key",
        "auth",
        "=",
        ":",
        ": ",
        "=>",
        "\"",
        "'",
        "\\\"",
        "{",
        "}",
        "[",
        "]",
        ",",
        ";",
        "&",
        "?",
        "@",
        "://",
        "postgres",
        "https",
        "-----BEGIN RSA PRIVATE KEY-----",
        "-----END RSA PRIVATE KEY-----",
        "eyJhbGciOiJIUzI1NiJ9",
        ".",
        "eyJzdWIiOiJ4In0",
        "AKIAIOSFODNN7EXAMPLE",
        "ghp_",
        "sk-",
        "xoxb-",
        "\n",
        " ",
        "\t",
        "  - ",
        "--",
        "-p",
        "mysql",
        "|",
        "[REDACTED:jwt#1]",
        "[REDACTED:",
        "#1]",
        "sha256:",
        "containerd://",
        "<",
        ">",
        "</password>",
        "<password>",
        "Qz7aB9xY2wV5uT8sR1qP4oN6mL3kJ0hG",
        "0123456789abcdef0123456789abcdef",
        "dXNlcjpwYXNz",
        "LS0tLS1CRUdJTiBSU0EgUFJJVkFURSBLRVktLS0tLQo",
        "user",
        "bob",
        "hunter2",
        "${X}",
        "é",
        "日本",
        "\u{1F600}",
        "abcdef.0123456789abcdef",
        "%2F",
        "+",
        "/",
        "==",
        "Q~",
        "1Q~",
        "jdbc:oracle:thin:",
        "u/p@h",
    ]);
    (
        prop::collection::vec(frag, 0..40),
        prop::collection::vec(re_str("[A-Za-z0-9+/=_-]{0,12}"), 0..40),
    )
        .prop_map(|(fs, words)| {
            let mut out = String::new();
            for (i, f) in fs.iter().enumerate() {
                out.push_str(f);
                if let Some(w) = words.get(i) {
                    out.push_str(w);
                }
            }
            out
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn planted_secrets_never_survive(p in planted(), before in noise(), after in noise(), j1 in joiner(), j2 in joiner()) {
        prop_assume!(!before.contains(&p.secret) && !after.contains(&p.secret));
        let text = format!("{before}{j1}{}{j2}{after}", p.text);
        let r = Redactor::default();
        let (out, receipt) = r.redact_text(&text);
        prop_assert!(!out.contains(&p.secret), "secret {:?} survived in {:?}", p.secret, out);
        prop_assert!(!receipt.is_empty());
        prop_assert!(!is_clean(&r, &text));
    }

    #[test]
    fn planted_secrets_never_survive_in_json(p in planted(), key in re_str("[a-z]{1,10}")) {
        let r = Redactor::default();
        let v = serde_json::json!({ "annotations": { key: p.text.clone() }, "list": [p.text.clone()] });
        let (out, _) = r.redact_json(&v);
        prop_assert!(!out.to_string().contains(&p.secret), "{out}");
    }

    #[test]
    fn known_values_never_survive(secret in re_str("[ -~]{8,40}"), before in noise(), after in noise()) {
        prop_assume!(!secret.contains("REDACTED") && !before.contains(&secret) && !after.contains(&secret));
        let r = Redactor::new([secret.clone()]);
        let text = format!("{before} {secret} {after}");
        let (out, _) = r.redact_text(&text);
        prop_assert!(!out.contains(&secret), "{out:?}");
    }

    #[test]
    fn redaction_is_idempotent(text in fragments()) {
        let r = Redactor::default();
        let (once, _) = r.redact_text(&text);
        let (twice, receipt) = r.redact_text(&once);
        prop_assert_eq!(&twice, &once, "input {:?}", text);
        prop_assert!(receipt.is_empty(), "second pass counted {:?} on {:?}", receipt, once);
    }

    #[test]
    fn redaction_is_idempotent_with_planted_secrets(p in planted(), before in fragments(), after in noise()) {
        let r = Redactor::default();
        let (once, _) = r.redact_text(&format!("{before}\n{}\n{after}", p.text));
        let (twice, receipt) = r.redact_text(&once);
        prop_assert_eq!(&twice, &once);
        prop_assert!(receipt.is_empty());
    }

    #[test]
    fn never_panics_on_arbitrary_text(text in any::<String>(), frag in fragments()) {
        let r = Redactor::new(["configured-secret-1".to_owned()]);
        let _ = r.redact_text(&text);
        let _ = r.redact_text(&format!("{frag}{text}{frag}"));
        let _ = r.redact_json(&serde_json::json!({ text.clone(): text, "env": [{"name": frag, "value": 1}] }));
    }

    #[test]
    fn placeholders_are_consistent_within_a_session(a in mixed(30), b in mixed(30)) {
        prop_assume!(a != b);
        let r = Redactor::default();
        let mut s = r.session();
        let t1 = s.text(&format!("first eyJhbGciOiJIUzI1NiJ9.eyJ{a}.sig1 then eyJhbGciOiJIUzI1NiJ9.eyJ{b}.sig2"));
        let t2 = s.text(&format!("again eyJhbGciOiJIUzI1NiJ9.eyJ{a}.sig1"));
        let ph = Regex::new(r"\[REDACTED:jwt#\d+\]").unwrap_or_else(|e| panic!("{e}"));
        let p1: Vec<&str> = ph.find_iter(&t1).map(|m| m.as_str()).collect();
        let p2: Vec<&str> = ph.find_iter(&t2).map(|m| m.as_str()).collect();
        prop_assert_eq!(p1.len(), 2);
        prop_assert_eq!(p1[0], "[REDACTED:jwt#1]");
        prop_assert_eq!(p1[1], "[REDACTED:jwt#2]");
        prop_assert_eq!(p2, vec!["[REDACTED:jwt#1]"]);
        prop_assert_eq!(s.receipt().total(), 3);
    }
}

#[test]
fn a_fresh_session_restarts_numbering() {
    let r = Redactor::default();
    let (a, _) = r.redact_text("DB_PASSWORD=hunter2EXAMPLE");
    let (b, _) = r.redact_text("DB_PASSWORD=otherEXAMPLE");
    assert_eq!(a, "DB_PASSWORD=[REDACTED:key_value_secret#1]");
    assert_eq!(b, "DB_PASSWORD=[REDACTED:key_value_secret#1]");
}

#[test]
fn forged_placeholder_prefix_does_not_shield_a_secret() {
    let r = Redactor::default();
    for text in [
        "password=[REDACTED:x#1]hunter2EXAMPLE",
        "[REDACTED: password=hunter2EXAMPLE",
    ] {
        let (out, _) = r.redact_text(text);
        assert!(!out.contains("hunter2EXAMPLE"), "{text} -> {out}");
    }
}

#[test]
fn short_known_values_are_ignored() {
    let r = Redactor::new([
        "short".to_owned(),
        "REDACTED-ish".to_owned(),
        "long-enough-value".to_owned(),
    ]);
    assert_eq!(r.redact_text("a short word").0, "a short word");
    assert_eq!(
        r.redact_text("x long-enough-value y").0,
        "x [REDACTED:known_secret#1] y"
    );
    // JSON-escaped and percent-encoded forms of a configured value are masked too.
    let r = Redactor::new(["https://hooks.example/T0/B0/abc def".to_owned()]);
    let (out, _) = r.redact_text("url=https%3A%2F%2Fhooks.example%2FT0%2FB0%2Fabc%20def");
    assert!(!out.contains("abc%20def"), "{out}");
}

#[test]
fn a_megabyte_of_logs_is_fast_enough() {
    let line = "2024-01-01T00:00:00Z level=info msg=\"GET /api/v1/orders 200\" duration=12ms user=bob trace_id=4bf92f3577b34da6a3ce929d0e0e4736 password=hunter2EXAMPLE\n";
    let text = line.repeat(1_000_000 / line.len());
    let r = Redactor::default();
    let start = std::time::Instant::now();
    let (out, receipt) = r.redact_text(&text);
    let elapsed = start.elapsed();
    eprintln!("1 MB of logs redacted in {elapsed:?}");
    assert!(!out.contains("hunter2EXAMPLE"));
    assert_eq!(
        receipt.total(),
        u64::try_from(text.lines().count()).unwrap_or(0)
    );
    // Generous: debug builds are ~10x slower than release, and CI machines are small.
    assert!(elapsed.as_secs() < 20, "1 MB took {elapsed:?}");
}

#[test]
fn a_megabyte_of_dense_secret_like_text_is_fast_enough() {
    // Worst case for the key-driven rules: a candidate at every few bytes.
    let chunk = r#"a=b password=x1 "token": "v" Bearer Qz7aB9xY2wV5uT8s key: eyJ0 "#;
    let text = chunk.repeat(1_000_000 / chunk.len());
    let start = std::time::Instant::now();
    let (out, _) = Redactor::default().redact_text(&text);
    let elapsed = start.elapsed();
    eprintln!("1 MB of dense candidates redacted in {elapsed:?}");
    assert!(!out.contains("x1 "));
    assert!(elapsed.as_secs() < 30, "1 MB took {elapsed:?}");

    let hostile = "-----BEGIN RSA PRIVATE KEY----- password: | \n ".repeat(20_000);
    let start = std::time::Instant::now();
    let _ = Redactor::default().redact_text(&hostile);
    let elapsed = start.elapsed();
    eprintln!(
        "{} KB of unterminated PEM headers redacted in {elapsed:?}",
        hostile.len() / 1024
    );
    assert!(elapsed.as_secs() < 30, "hostile input took {elapsed:?}");
}
