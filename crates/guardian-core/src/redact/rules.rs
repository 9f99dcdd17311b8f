//! Free-text rules: token shapes first (they are exact and give the best category), then
//! header/URL/connection-string context, then key-driven rules, then entropy near keywords.
//!
//! Every rule reports [`Hit`]s (byte spans of the secret part only, so schemes, key names, users
//! and hosts stay readable). The session replaces them with placeholders before the next rule
//! runs, so later, broader rules see earlier placeholders instead of the secret — which is what
//! makes the order matter: a JWT in `Authorization: Bearer eyJ…` is labelled `jwt`, not
//! `bearer_token`, and the same JWT elsewhere gets the same placeholder.

use std::sync::LazyLock;

use regex::{Captures, Regex};

use super::heuristics::{
    base64_decode, has_digit, has_lower, has_upper, is_benign_blob_key, is_benign_value,
    is_dashed_lowercase_name, is_hex, is_secret_key, looks_random, shannon,
};
use super::receipt::Category;

/// A span of the current text to mask.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Hit {
    pub start: usize,
    pub end: usize,
    pub category: Category,
}

type Action = Box<dyn Fn(&Captures<'_>, &str, &mut Vec<Hit>) + Send + Sync>;

pub(crate) struct Rule {
    pub regex: Regex,
    pub action: Action,
    /// Where the next search starts: after this group instead of after the whole match. Generic
    /// `key=value` matches must not swallow the next pair (`body: password=x` or
    /// `config => {:password => "x"}`), so they resume right after the separator.
    pub resume_after: Option<usize>,
}

impl Rule {
    fn resume_after(mut self, group: usize) -> Self {
        self.resume_after = Some(group);
        self
    }
}

/// Compiled once per process; every pattern is a constant, so a compile failure is a
/// programming error caught by any test run.
pub(crate) static RULES: LazyLock<Vec<Rule>> = LazyLock::new(build_rules);

/// Matches our own placeholders, strictly, so that text which merely *starts* like one cannot
/// shield a secret from redaction.
pub(crate) static PLACEHOLDER: LazyLock<Regex> =
    LazyLock::new(|| re(r"\[REDACTED:[a-z0-9_]{1,40}#[0-9]{1,10}\]"));

static BLOB: LazyLock<Regex> = LazyLock::new(|| re(r"[A-Za-z0-9+/_-]{20,}={0,2}"));

fn re(pattern: &str) -> Regex {
    // Constant patterns only (see RULES).
    #[allow(clippy::expect_used)]
    Regex::new(pattern).expect("constant redaction pattern compiles")
}

fn hit(m: regex::Match<'_>, category: Category) -> Hit {
    Hit {
        start: m.start(),
        end: m.end(),
        category,
    }
}

/// Masks capture `group` as `category`.
fn simple(pattern: &str, group: usize, category: Category) -> Rule {
    Rule {
        regex: re(pattern),
        action: Box::new(move |caps, _, hits| {
            if let Some(m) = caps.get(group) {
                hits.push(hit(m, category));
            }
        }),
        resume_after: None,
    }
}

/// Masks capture `group` as `category` when `check(secret, caps, haystack)` agrees.
fn checked(
    pattern: &str,
    group: usize,
    category: Category,
    check: fn(&str, &Captures<'_>, &str) -> bool,
) -> Rule {
    Rule {
        regex: re(pattern),
        action: Box::new(move |caps, hay, hits| {
            if let Some(m) = caps.get(group)
                && check(m.as_str(), caps, hay)
            {
                hits.push(hit(m, category));
            }
        }),
        resume_after: None,
    }
}

fn custom(
    pattern: &str,
    action: impl Fn(&Captures<'_>, &str, &mut Vec<Hit>) + Send + Sync + 'static,
) -> Rule {
    Rule {
        regex: re(pattern),
        action: Box::new(action),
        resume_after: None,
    }
}

/// Largest char boundary `<= i`.
fn floor_boundary(s: &str, mut i: usize) -> usize {
    if i >= s.len() {
        return s.len();
    }
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// Strips one pair of matching quotes (and JSON-escaped quotes) from a value span.
fn unquote(hay: &str, start: usize, end: usize) -> (usize, usize) {
    let v = &hay[start..end];
    for q in ["\\\"", "\"", "'"] {
        if v.len() >= 2 * q.len() && v.starts_with(q) && v.ends_with(q) {
            return (start + q.len(), end - q.len());
        }
    }
    (start, end)
}

/// Drops trailing punctuation that belongs to the surrounding sentence or structure.
fn trim_trailing(hay: &str, start: usize, mut end: usize) -> usize {
    while end > start
        && matches!(
            hay.as_bytes()[end - 1],
            b',' | b';' | b'.' | b')' | b'}' | b']'
        )
    {
        end -= 1;
    }
    end
}

/// Pushes a key-driven hit for the value span when the key names a secret.
fn push_key_value(hay: &str, key: &str, start: usize, end: usize, hits: &mut Vec<Hit>) {
    let key = key.trim_matches(|c| c == '"' || c == '\'' || c == '-');
    if !is_secret_key(key) {
        return;
    }
    let (mut s, e) = unquote(hay, start, end);
    if is_benign_value(&hay[s..e]) {
        return;
    }
    let e = if (s, e) == (start, end) {
        trim_trailing(hay, s, e)
    } else {
        e
    };
    // `Authorization: Bearer …` as a plain key/value: the scheme is not the secret.
    if let Some(sp) = hay[s..e].find([' ', '\t'])
        && matches!(
            hay[s..s + sp].to_ascii_lowercase().as_str(),
            "bearer" | "basic" | "token" | "digest" | "negotiate" | "ntlm"
        )
    {
        s += sp + 1;
        while s < e && matches!(hay.as_bytes()[s], b' ' | b'\t') {
            s += 1;
        }
    }
    if s >= e || is_benign_value(&hay[s..e]) {
        return;
    }
    hits.push(Hit {
        start: s,
        end: e,
        category: Category::KeyValueSecret,
    });
}

fn build_rules() -> Vec<Rule> {
    use Category as C;
    vec![
        // --- PEM private keys: BEGIN … END, or BEGIN … end of the base64 body when the block
        // was cut (truncated logs must not leak the remainder).
        custom(r"-----BEGIN[ A-Z0-9]{0,40}PRIVATE KEY(?: BLOCK)?-----", |caps, hay, hits| {
            let Some(m) = caps.get(0) else { return };
            let window_end = floor_boundary(hay, m.end().saturating_add(16 * 1024));
            let window = &hay[m.end()..window_end];
            let end = match window.find("-----END") {
                Some(i) => {
                    let after = m.end() + i + "-----END".len();
                    let tail_end = floor_boundary(hay, after + 64);
                    match hay[after..tail_end].find("-----") {
                        Some(j) => after + j + 5,
                        None => after,
                    }
                }
                None => {
                    // Bounded like the END search: the largest keys are a few KB, and an
                    // unbounded scan per BEGIN would be quadratic on hostile input.
                    let body = hay[m.end()..]
                        .bytes()
                        .take(16 * 1024)
                        .take_while(|b| b.is_ascii_alphanumeric() || b"+/=\\:,.- \t\r\n".contains(b))
                        .count();
                    m.end() + body
                }
            };
            hits.push(Hit { start: m.start(), end, category: C::PemPrivateKey });
        }),
        // Base64-wrapped PEM (Secret data, kubeconfig client-key-data). Certificates share the
        // prefix, so decode and look.
        custom(
            r"LS0tLS1CRUdJTi[A-Za-z0-9+/]*={0,2}(?:\r?\n[ \t]*[A-Za-z0-9+/]{16,}={0,2})*",
            |caps, _, hits| {
                let Some(m) = caps.get(0) else { return };
                let head: String = m.as_str().chars().filter(|c| !c.is_whitespace()).take(96).collect();
                let head = &head[..head.len() / 4 * 4];
                if let Some(bytes) = base64_decode(head)
                    && String::from_utf8_lossy(&bytes).contains("PRIVATE KEY")
                {
                    hits.push(hit(m, C::PemPrivateKey));
                }
            },
        ),
        // --- JWT: JWE (5 segments) first, then JWS incl. empty signature, pretty-printed
        // headers (`ewo…`) and base64-wrapped tokens (`ZXlK…`).
        simple(
            r"eyJ[A-Za-z0-9_-]{6,}\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]{6,}\.[A-Za-z0-9_-]{6,}\.[A-Za-z0-9_-]{6,}|(?:eyJ|ewo)[A-Za-z0-9_-]{6,}\.(?:eyJ|ewo)[A-Za-z0-9_-]{6,}\.[A-Za-z0-9_-]*",
            0,
            C::Jwt,
        ),
        simple(r"ZXlK[A-Za-z0-9+/]{40,}={0,2}", 0, C::Jwt),
        // --- Cloud providers.
        simple(r"\b(?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[A-Z0-9]{16}\b", 0, C::AwsAccessKey),
        simple(
            r#"(?i)(?:aws_?secret_?access_?key|secret_?access_?key|aws_?secret_?key)\\?["']?[ \t]*(?:=>|:=|=|:)[ \t]*\\?["']?([A-Za-z0-9/+]{40})(?:[^A-Za-z0-9/+]|$)"#,
            1,
            C::AwsSecretKey,
        ),
        simple(
            r#"(?i)(?:aws_?session_?token|session_?token|x-amz-security-token)\\?["']?[ \t]*(?:=>|:=|=|:)[ \t]*\\?["']?([A-Za-z0-9/+=]{100,})"#,
            1,
            C::AwsSessionToken,
        ),
        simple(r"\bAIza[0-9A-Za-z_-]{35}", 0, C::GcpApiKey),
        simple(
            r"\bya29\.[0-9A-Za-z_-]{20,}|\bGOCSPX-[0-9A-Za-z_-]{20,}|\b1//0[0-9A-Za-z_-]{30,}",
            0,
            C::GcpOauthToken,
        ),
        simple(
            r#"(?i)\b(?:AccountKey|SharedAccessKey|SharedAccessSignature|SharedSecret|PrimaryKey|SecondaryKey)[ \t]*=[ \t]*([^;"'\s]+)"#,
            1,
            C::AzureKey,
        ),
        simple(
            r"(?:^|[^A-Za-z0-9_~.-])([A-Za-z0-9_~.-]{3}[0-9]Q~[A-Za-z0-9_~.-]{31,34})",
            1,
            C::AzureClientSecret,
        ),
        // --- Git forges, chat, payments, LLM and other SaaS prefixes.
        simple(r"\bgh[pousr]_[A-Za-z0-9]{36,255}|\bgithub_pat_[A-Za-z0-9_]{22,255}", 0, C::GithubToken),
        simple(
            r"\bgl(?:pat|dt|rt|ptt|cbt|ft|imt|soat|oas|ffct|agent)-[A-Za-z0-9_-]{20,}",
            0,
            C::GitlabToken,
        ),
        simple(r"\b(?:xoxe\.)?(?:xox[abposre]|xapp|xoxe)-[A-Za-z0-9-]{10,}", 0, C::SlackToken),
        simple(
            r#"(?i)https?://(?:hooks\.slack\.com/(?:services|workflows|triggers)/|(?:[a-z0-9-]+\.)?discord(?:app)?\.com/api/webhooks/|[a-z0-9.-]+\.webhook\.office\.com/webhookb2/)([^\s"'<>]+)"#,
            1,
            C::WebhookUrl,
        ),
        simple(r"\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{10,}|\bwhsec_[A-Za-z0-9]{20,}", 0, C::StripeKey),
        simple(
            r"\bsk-[A-Za-z0-9_-]{20,}|\bhf_[A-Za-z0-9]{30,}|\bgsk_[A-Za-z0-9]{40,}|\bxai-[A-Za-z0-9]{40,}|\br8_[A-Za-z0-9]{30,}",
            0,
            C::LlmApiKey,
        ),
        simple(
            concat!(
                r"\bSG\.[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,}|\bnpm_[A-Za-z0-9]{36}|\bpypi-[A-Za-z0-9_-]{50,}",
                r"|\bdckr_pat_[A-Za-z0-9_-]{20,}|\bhv[sbr]\.[A-Za-z0-9_-]{20,}|\bshp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}",
                r"|\bdo[opr]_v1_[a-f0-9]{64}|\bglsa_[A-Za-z0-9_]{32,}|\bglc_[A-Za-z0-9+/=_-]{32,}",
                r"|\blin_api_[A-Za-z0-9]{40}|\bATATT3[A-Za-z0-9_=-]{50,}|\bATBB[A-Za-z0-9]{32,}",
                r"|\bAGE-SECRET-KEY-1[0-9A-Z]{58}|\bsq0(?:atp|csp)-[0-9A-Za-z_-]{22,}|\bpnu_[A-Za-z0-9]{36}",
                r"|\bdapi[a-f0-9]{32}|\bntn_[A-Za-z0-9]{40,}|\bsntrys_[A-Za-z0-9+/=_]{40,}|\bNRAK-[A-Z0-9]{27}",
                r"|\b[0-9]{8,10}:AA[A-Za-z0-9_-]{33}",
            ),
            0,
            C::SaasToken,
        ),
        // --- Authorization headers: keep the header and scheme, mask the credential. Token
        // schemes end at whitespace; Digest/AWS4/HMAC parameters run to the end of the value.
        custom(
            r#"(?i)\b(?:proxy-)?authorization\\?["']?[ \t]*[:=][ \t]*\\?["'\[]?(?:(bearer|basic|token|digest|negotiate|ntlm|aws4-hmac-sha256|hmac-sha256|hmac|apikey|sso-key|dpop|mac|hoba|mutual|vapid|scram-sha-256)[ \t]+)?([^\r\n"'\]]+)"#,
            |caps, hay, hits| {
                let Some(cred) = caps.get(2) else { return };
                let scheme = caps.get(1).map(|m| m.as_str().to_ascii_lowercase());
                let (category, to_end) = match scheme.as_deref() {
                    Some("basic") => (C::BasicAuth, false),
                    Some("bearer" | "token") | None => (C::BearerToken, false),
                    Some("negotiate" | "ntlm" | "apikey" | "sso-key" | "dpop") => (C::AuthorizationHeader, false),
                    Some(_) => (C::AuthorizationHeader, true),
                };
                let start = cred.start();
                let mut end = if to_end {
                    cred.end()
                } else {
                    start
                        + cred
                            .as_str()
                            .find(|c: char| c.is_whitespace() || matches!(c, ',' | ';' | '\\'))
                            .unwrap_or(cred.len())
                };
                while end > start && hay.as_bytes()[end - 1].is_ascii_whitespace() {
                    end -= 1;
                }
                if end > start && !is_benign_value(&hay[start..end]) {
                    hits.push(Hit { start, end, category });
                }
            },
        ),
        checked(r"(?i)\bbearer[ \t]+([A-Za-z0-9._~+/=-]{8,})", 1, C::BearerToken, |t, _, _| {
            (has_digit(t) && (has_lower(t) || has_upper(t))) || t.len() >= 24
        }),
        checked(r"(?i)\bbasic[ \t]+([A-Za-z0-9+/]{8,}={0,2})", 1, C::BasicAuth, |t, _, _| {
            base64_decode(t).is_some_and(|b| std::str::from_utf8(&b).is_ok_and(|s| s.contains(':')))
        }),
        checked(
            r#"(?:^|\s)(?:-u|--user)[ \t]+["']?[^\s:"']+:([^\s"']+)"#,
            1,
            C::BasicAuth,
            |t, _, _| !is_benign_value(t),
        ),
        // --- Cookies: mask every value; for Set-Cookie only the cookie itself, not attributes.
        custom(r#"(?i)\b(set-cookie|cookie)\\?["']?[ \t]*[:=][ \t]*\\?["']?([^\r\n"'\\]*)"#, |caps, _, hits| {
            let (Some(kind), Some(value)) = (caps.get(1), caps.get(2)) else { return };
            let set_cookie = kind.as_str().eq_ignore_ascii_case("set-cookie");
            let base = value.start();
            let mut offset = 0;
            for (i, segment) in value.as_str().split(';').enumerate() {
                let seg_start = base + offset;
                offset += segment.len() + 1;
                let Some(eq) = segment.find('=') else { continue };
                let name = segment[..eq].trim().to_ascii_lowercase();
                let attribute = matches!(
                    name.as_str(),
                    "path" | "domain" | "expires" | "max-age" | "samesite" | "priority" | "version" | "comment"
                );
                if (set_cookie && i > 0) || attribute {
                    continue;
                }
                let v = &segment[eq + 1..];
                let lead = v.len() - v.trim_start().len();
                let v_trim = v.trim();
                if v_trim.is_empty() {
                    continue;
                }
                let start = seg_start + eq + 1 + lead;
                hits.push(Hit { start, end: start + v_trim.len(), category: C::Cookie });
            }
        }),
        // --- API-key style headers.
        checked(
            r#"(?i)(?:^|[^A-Za-z0-9_-])((?:x-)?(?:api-?key|auth-token|access-token)|x-[a-z0-9-]*?(?:token|api-?key|secret|signature)|private-token|ocp-apim-subscription-key|x-goog-api-key)\\?["']?[ \t]*:[ \t]*\\?\[?["']?([^\s"',;\]\\]+)"#,
            2,
            C::ApiKeyHeader,
            |v, _, _| !is_benign_value(v),
        ),
        // --- URLs with userinfo: mask the password only (user and host matter for diagnosis).
        checked(
            r#"(?i)\b[a-z][a-z0-9+.-]{1,30}://[^\s:/?#@"'<>\[\]]*:([^\s@/?#"'<>]+)@([A-Za-z0-9.-]*)"#,
            1,
            C::UrlPassword,
            |v, caps, _| !is_digest_host(caps.get(2).map_or("", |m| m.as_str())) && !is_benign_value(v),
        ),
        // Token-only userinfo (`https://<token>@github.com`, Sentry DSNs).
        checked(
            r"(?i)\b(?:https?|git|ssh|wss?)://([A-Za-z0-9_.~+-]{20,})@",
            1,
            C::UrlPassword,
            |v, _, _| looks_random(v) || (has_digit(v) && v.len() >= 32),
        ),
        // Schemeless `user:password@host`; image references (`nginx:1.25@sha256:…`) and
        // `mailto:` look alike and are excluded.
        checked(
            r#"(?:^|[\s"'=(,\[])([A-Za-z][A-Za-z0-9._-]{0,63}):([^\s@:/"'<>]{2,})@([A-Za-z0-9][A-Za-z0-9.-]*)"#,
            2,
            C::UrlPassword,
            |v, caps, _| {
                let user = caps.get(1).map_or("", |m| m.as_str()).to_ascii_lowercase();
                !is_digest_host(caps.get(3).map_or("", |m| m.as_str()))
                    && !matches!(user.as_str(), "mailto" | "sip" | "sips" | "xmpp" | "tel" | "im")
                    && !is_benign_value(v)
            },
        ),
        // --- URL query secrets (presigned URLs, OAuth redirects, webhooks).
        checked(
            r#"(?i)[?&](?:access_token|id_token|refresh_token|auth_token|token|key|api_key|apikey|api-key|sig|signature|x-amz-signature|x-amz-credential|x-amz-security-token|x-goog-signature|x-goog-credential|password|passwd|pwd|secret|client_secret|auth|jwt|private_token|sessionid|session_id)=([^&\s"'#<>\[\]]+)"#,
            1,
            C::UrlQuerySecret,
            |v, _, _| !is_benign_value(v),
        ),
        // --- Connection strings (JDBC/ODBC/ADO.NET `;Password=`, Oracle thin `user/pw@`).
        checked(
            r#"(?i);[ \t]*(?:password|pwd|passwd)[ \t]*=[ \t]*(\{[^}\n]*\}|"[^"\n]*"|'[^'\n]*'|[^;&\s"']+)"#,
            1,
            C::ConnectionString,
            |v, _, _| !is_benign_value(v),
        ),
        simple(r#"(?i)\bjdbc:oracle:[a-z]+:[A-Za-z0-9_$#.-]+/([^@\s"']+)@"#, 1, C::ConnectionString),
        // --- Key-driven rules. JSON first (exact string bounds), then JSON-escaped JSON,
        // Python reprs, YAML lines, then generic `key=value` / `key: value`.
        custom(r#""([^"\\\n]{1,80})"[ \t]*:[ \t]*"((?:[^"\\\n]|\\.)*)""#, |caps, hay, hits| {
            if let (Some(k), Some(v)) = (caps.get(1), caps.get(2)) {
                push_key_value(hay, k.as_str(), v.start(), v.end(), hits);
            }
        }),
        custom(
            r#"\\"([^"\\\n]{1,80})\\"[ \t]*:[ \t]*\\"((?:\\\\\\"|\\\\\\\\|\\[^"\\\n]|[^"\\\n])*)\\""#,
            |caps, hay, hits| {
                if let (Some(k), Some(v)) = (caps.get(1), caps.get(2)) {
                    push_key_value(hay, k.as_str(), v.start(), v.end(), hits);
                }
            },
        ),
        custom(r"'([^'\\\n]{1,80})'[ \t]*:[ \t]*'((?:[^'\\\n]|\\.)*)'", |caps, hay, hits| {
            if let (Some(k), Some(v)) = (caps.get(1), caps.get(2)) {
                push_key_value(hay, k.as_str(), v.start(), v.end(), hits);
            }
        }),
        custom(
            r#"(?m)^([ \t]*(?:-[ \t]+)?)([A-Za-z_][A-Za-z0-9_.\-]{0,80}|"[^"\n]{1,80}"|'[^'\n]{1,80}')[ \t]*:[ \t]+([^\n]*?)[ \t]*\r?$"#,
            yaml_line,
        ),
        custom(
            r#"(?:^|[^A-Za-z0-9_.\-/\\])(-{0,2}[A-Za-z_][A-Za-z0-9_.\-]{0,80})["']?[ \t]*(=>|:=|=|:)[ \t]*(\[?"(?:[^"\\\n]|\\.)*"\]?|'[^'\n]*'|[^\s"'&;]+)"#,
            |caps, hay, hits| {
                let (Some(k), Some(sep), Some(v)) = (caps.get(1), caps.get(2), caps.get(3)) else { return };
                if sep.as_str() == ":" && v.as_str().starts_with("//") {
                    return;
                }
                let (mut s, mut e) = (v.start(), v.end());
                if hay[s..e].starts_with("[\"") && hay[s..e].ends_with("\"]") {
                    (s, e) = (s + 1, e - 1);
                }
                push_key_value(hay, k.as_str(), s, e, hits);
            },
        )
        .resume_after(2),
        // CLI flags with a space (`--password hunter2`), JSON arg arrays (`"--token", "x"`) and
        // one-arg-per-line listings (`kubectl describe` Args).
        custom(
            r#"(?:^|\s)(--?[A-Za-z][A-Za-z0-9_-]{1,80})[ \t]+("(?:[^"\\\n]|\\.)*"|'[^'\n]*'|[^\s"'-][^\s"']*)"#,
            |caps, hay, hits| {
                if let (Some(k), Some(v)) = (caps.get(1), caps.get(2)) {
                    push_key_value(hay, k.as_str(), v.start(), v.end(), hits);
                }
            },
        ),
        custom(
            r#""(--?[A-Za-z][A-Za-z0-9_-]{1,80})"[ \t]*,[ \t\r\n]*"((?:[^"\\\n]|\\.)*)""#,
            |caps, hay, hits| {
                if let (Some(k), Some(v)) = (caps.get(1), caps.get(2)) {
                    push_key_value(hay, k.as_str(), v.start(), v.end(), hits);
                }
            },
        ),
        custom(
            r#"(?m)^[ \t]*(?:-[ \t]+)?["']?(--?[A-Za-z][A-Za-z0-9_-]{1,80})["']?[ \t]*\r?\n[ \t]*(?:-[ \t]+)?([^\s-][^\n]*?)[ \t]*\r?$"#,
            |caps, hay, hits| {
                if let (Some(k), Some(v)) = (caps.get(1), caps.get(2)) {
                    push_key_value(hay, k.as_str(), v.start(), v.end(), hits);
                }
            },
        ),
        simple(
            r#"\b(?:mysql(?:dump|admin|sh|import|check)?|sshpass)\b[^\n]*?[ \t]-p[ \t]?([^\s'"]+)"#,
            1,
            C::KeyValueSecret,
        ),
        custom(r"<([A-Za-z_][A-Za-z0-9_.:-]{0,80})>([^<\n]+)</", |caps, hay, hits| {
            if let (Some(k), Some(v)) = (caps.get(1), caps.get(2)) {
                push_key_value(hay, k.as_str(), v.start(), v.end(), hits);
            }
        }),
        // --- Shapes without a keyword.
        checked(r"\b[a-z0-9]{6}\.([a-z0-9]{16})\b", 0, C::BootstrapToken, |_, caps, hay| {
            let Some(m) = caps.get(0) else { return false };
            let secret = caps.get(1).map_or("", |m| m.as_str());
            let before_dot = m.start() > 0 && hay.as_bytes()[m.start() - 1] == b'.';
            let after_dot = hay.as_bytes().get(m.end()) == Some(&b'.');
            has_digit(secret) && has_lower(secret) && !before_dot && !after_dot
        }),
        checked(r"[A-Za-z0-9/+]{40,}", 0, C::AwsSecretKey, |t, caps, hay| {
            let Some(m) = caps.get(0) else { return false };
            let followed_by_pad = hay.as_bytes().get(m.end()) == Some(&b'=');
            t.len() == 40
                && !followed_by_pad
                && has_digit(t)
                && has_upper(t)
                && has_lower(t)
                && !t.starts_with('/')
                && !t.ends_with('/')
                && !t.contains("//")
                && t.matches('/').count() <= 3
                && shannon(t) >= 4.2
                && !inside_pem_body(hay, m.start())
        }),
        // Long blobs after a key we do not recognise as benign (the reference behaviour's
        // "≥ 40 base64 / ≥ 32 hex after = or :"), sparing digests, ids and public material.
        custom(
            r#"(?:^|[^A-Za-z0-9_.\-/])([A-Za-z_][A-Za-z0-9_.\-/]{0,80})["']?[ \t]*[=:][ \t]*["']?([A-Za-z0-9+/_-]{32,}={0,2})"#,
            |caps, hay, hits| {
                let (Some(k), Some(v)) = (caps.get(1), caps.get(2)) else { return };
                let blob = v.as_str();
                if blob.starts_with('/') || is_benign_blob_key(k.as_str()) || inside_pem_body(hay, v.start()) {
                    return;
                }
                if let Some(category) = blob_category(blob, 40) {
                    hits.push(hit(v, category));
                }
            },
        )
        .resume_after(1),
        // Entropy only within ~40 characters after a secret keyword ("token is 3q2+7w…").
        custom(
            r"(?i)(?:password|passwd|passphrase|secret|token|credential|api[_ -]?key|private[_ -]?key|access[_ -]?key|auth)",
            |caps, hay, hits| {
                let Some(kw) = caps.get(0) else { return };
                let window_end = floor_boundary(hay, kw.end() + 40);
                // Search a bounded slice (an unbounded search from every keyword would be
                // quadratic) and extend a blob that runs past it by hand.
                let search_end = floor_boundary(hay, window_end + 24);
                let bounded_hay = &hay[..search_end];
                let mut from = kw.end();
                while from < window_end {
                    let Some(found) = BLOB.find_at(bounded_hay, from) else { return };
                    if found.start() >= window_end {
                        return;
                    }
                    let tail = hay[found.end()..]
                        .bytes()
                        .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'_' | b'-'))
                        .count();
                    let end = found.end() + tail;
                    let end = end + hay[end..].bytes().take(2).take_while(|&b| b == b'=').count();
                    let m = Span { start: found.start(), end, text: &hay[found.start()..end] };
                    from = m.end;
                    // A run glued to the previous one (or to a placeholder that replaced it)
                    // is its tail, not a new blob; `]` keeps a second pass from treating the
                    // tail differently once its head became a placeholder.
                    let bounded = m.start == 0
                        || !hay.as_bytes()[m.start - 1].is_ascii_alphanumeric()
                            && !matches!(hay.as_bytes()[m.start - 1], b'+' | b'/' | b'_' | b'-' | b'=' | b']');
                    if !bounded || preceded_by_benign_key(hay, m.start) || inside_pem_body(hay, m.start) {
                        continue;
                    }
                    if let Some(category) = blob_category(m.text, 20) {
                        hits.push(Hit { start: m.start, end: m.end, category });
                    }
                }
            },
        ),
    ]
}

/// A blob found by hand (extended past a bounded regex search).
struct Span<'h> {
    start: usize,
    end: usize,
    text: &'h str,
}

/// `nginx:1.25@sha256:…` and `docker-pullable://x@sha256:…` are image references, not userinfo.
fn is_digest_host(host: &str) -> bool {
    let h = host.to_ascii_lowercase();
    matches!(
        h.as_str(),
        "sha1" | "sha256" | "sha384" | "sha512" | "md5" | "blake3"
    )
}

/// Hex runs ≥ 32 or mixed-case base64 runs ≥ `min_b64` that look machine-generated.
fn blob_category(blob: &str, min_b64: usize) -> Option<Category> {
    let core = blob.trim_end_matches('=');
    if is_hex(core) {
        // Distinct symbols rather than entropy: all-zero ids survive, any real digest-like
        // value does not.
        let mut seen = [false; 256];
        core.bytes()
            .for_each(|b| seen[usize::from(b.to_ascii_lowercase())] = true);
        let distinct = seen.iter().filter(|&&x| x).count();
        return (core.len() >= 32 && distinct >= 4).then_some(Category::HexBlob);
    }
    (core.len() >= min_b64 && looks_random(core) && !is_dashed_lowercase_name(core))
        .then_some(Category::Base64Blob)
}

/// True when the blob at `pos` is the value of a `key=`/`key:` whose key is benign
/// (`trace_id=…`, `sha256:…`, `commit: …`).
fn preceded_by_benign_key(hay: &str, pos: usize) -> bool {
    // Keys are at most 80 chars; bounding the look-back keeps long runs linear.
    let before = &hay[floor_boundary(hay, pos.saturating_sub(96))..pos];
    let before = before.trim_end_matches(['"', '\'', ' ', '\t']);
    let Some(before) = before.strip_suffix(['=', ':']) else {
        return false;
    };
    let before = before.trim_end_matches(['"', '\'', ' ', '\t']);
    let key_start = before
        .char_indices()
        .rev()
        .find(|&(_, c)| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '/')))
        .map_or(0, |(i, c)| i + c.len_utf8());
    let key = &before[key_start..];
    !key.is_empty() && (is_benign_blob_key(key) || key.len() > 80)
}

/// A 40-char line inside a certificate body is not an AWS secret: look for a preceding full
/// base64 line (raw or JSON-escaped newline).
fn inside_pem_body(hay: &str, pos: usize) -> bool {
    let before = &hay[..pos];
    let before = before.trim_end_matches([' ', '\t']);
    let before = if let Some(b) = before.strip_suffix("\\n") {
        b
    } else if let Some(b) = before.strip_suffix('\n') {
        b.strip_suffix('\r').unwrap_or(b)
    } else {
        return false;
    };
    let tail = before
        .bytes()
        .rev()
        .take(64)
        .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='))
        .count();
    tail >= 60 || before.ends_with("-----")
}

/// YAML-ish `key: value` at the start of a line: the whole rest of the line is the value
/// (passwords may contain spaces); block scalars (`key: |`) take the indented lines below.
fn yaml_line(caps: &Captures<'_>, hay: &str, hits: &mut Vec<Hit>) {
    let (Some(indent), Some(k), Some(v)) = (caps.get(1), caps.get(2), caps.get(3)) else {
        return;
    };
    let value = v.as_str();
    if value.starts_with('#') {
        return;
    }
    let block = value.len() <= 3 && (value.starts_with('|') || value.starts_with('>'));
    if !block {
        push_key_value(hay, k.as_str(), v.start(), v.end(), hits);
        return;
    }
    let key = k.as_str().trim_matches(|c| c == '"' || c == '\'');
    if !is_secret_key(key) {
        return;
    }
    let key_indent = indent.as_str().len();
    let Some(first_nl) = hay[v.end()..].find('\n') else {
        return;
    };
    let start = v.end() + first_nl + 1;
    let mut end = start;
    let mut pos = start;
    while pos < hay.len() {
        let line_end = hay[pos..].find('\n').map_or(hay.len(), |i| pos + i);
        let line = &hay[pos..line_end];
        let trimmed = line.trim_start_matches([' ', '\t']);
        let ind = line.len() - trimmed.len();
        if !trimmed.trim().is_empty() {
            if ind <= key_indent {
                break;
            }
            end = line_end;
        }
        pos = line_end + 1;
    }
    if end > start {
        hits.push(Hit {
            start,
            end,
            category: Category::KeyValueSecret,
        });
    }
}
