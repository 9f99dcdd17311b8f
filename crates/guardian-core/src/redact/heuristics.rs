//! Heuristics shared by the text and structural passes: which key names hold secrets, which
//! values are obviously not secrets, and cheap randomness tests.
//!
//! Key names are judged word by word (`DB_PASSWORD` → `db`, `password`; `clientSecret` →
//! `client`, `secret`) so that one vocabulary serves env names, YAML keys, JSON fields, CLI
//! flags and HTTP headers alike. A key that *names* or *configures* a secret rather than holding
//! one (`secretName`, `secretKeyRef`, `passwordFile`, `password_min_length`, `tokenTTL`) carries a
//! reference word and is left alone: those fields are diagnosis-critical and never hold the
//! secret itself.

/// Words that make a key secret on their own.
const SECRET_WORDS: &[&str] = &[
    "password",
    "passwd",
    "pass",
    "pwd",
    "pw",
    "passphrase",
    "passcode",
    "secret",
    "token",
    "apikey",
    "accesskey",
    "secretkey",
    "privatekey",
    "privkey",
    "credential",
    "credentials",
    "creds",
    "auth",
    "authorization",
    "signature",
    "sig",
    "dockerconfigjson",
    "dockercfg",
    "sessionid",
    "jsessionid",
    "phpsessid",
    "bearer",
    "jwt",
];

/// Glued lowercase compounds (`PGPASSWORD`, `apitoken`, `clientsecret`) end with one of these.
const SECRET_SUFFIXES: &[&str] = &[
    "password",
    "passwd",
    "secret",
    "token",
    "apikey",
    "accesskey",
    "secretkey",
    "privatekey",
    "passphrase",
    "credentials",
    "pwd",
];

/// `key` alone is a selector / map key name almost everywhere in Kubernetes; it is secret only
/// after one of these qualifiers (`api_key`, `accountKey`, `tls.key`, `client-key-data`).
const KEY_QUALIFIERS: &[&str] = &[
    "api",
    "access",
    "secret",
    "private",
    "priv",
    "encryption",
    "encrypt",
    "signing",
    "sign",
    "master",
    "account",
    "shared",
    "storage",
    "license",
    "app",
    "application",
    "auth",
    "session",
    "hmac",
    "client",
    "ssh",
    "tls",
    "subscription",
    "consumer",
    "admin",
    "root",
    "deploy",
    "webhook",
    "crypto",
    "cipher",
    "aes",
    "gpg",
    "pgp",
    "sas",
    "jwt",
    "oauth",
    "bot",
    "server",
    "user",
    "write",
    "service",
];

/// Words that turn a key into a reference to, or a setting about, a secret.
const REFERENCE_WORDS: &[&str] = &[
    "name",
    "names",
    "ref",
    "refs",
    "reference",
    "file",
    "files",
    "path",
    "paths",
    "dir",
    "directory",
    "length",
    "len",
    "min",
    "max",
    "minimum",
    "maximum",
    "count",
    "ttl",
    "type",
    "kind",
    "id",
    "ids",
    "url",
    "uri",
    "endpoint",
    "host",
    "hostname",
    "port",
    "header",
    "format",
    "policy",
    "mode",
    "method",
    "provider",
    "enabled",
    "disabled",
    "required",
    "expiry",
    "expires",
    "expiration",
    "expire",
    "version",
    "namespace",
    "field",
    "env",
    "var",
    "location",
    "source",
    "mount",
    "volume",
    "rotation",
    "generation",
    "label",
    "labels",
    "annotation",
    "selector",
    "template",
    "algorithm",
    "alg",
    "stdin",
    "prompt",
    "strategy",
    "timeout",
    "interval",
    "period",
    "duration",
    "age",
    "lifetime",
    "limit",
    "size",
    "usage",
    "status",
    "state",
    "existing",
    "class",
    "store",
    "audience",
    "issuer",
    "scope",
    "scopes",
];

/// Keys whose values are identifiers, digests or public material: a long hex/base64 blob under
/// them is expected and must survive (image digests, git SHAs, trace ids, ETags, CA bundles).
const BENIGN_BLOB_WORDS: &[&str] = &[
    "sha",
    "md",
    "digest",
    "checksum",
    "hash",
    "uid",
    "uuid",
    "id",
    "ids",
    "trace",
    "traceparent",
    "span",
    "commit",
    "revision",
    "rev",
    "etag",
    "image",
    "imageid",
    "container",
    "containerd",
    "containerid",
    "docker",
    "cri",
    "integrity",
    "fingerprint",
    "ca",
    "cert",
    "certificate",
    "crt",
    "pub",
    "public",
    "version",
    "ref",
    "parent",
    "request",
    "correlation",
    "git",
    "build",
    "nonce",
    "tag",
    "etag",
    "bundle",
    "pod",
];

/// Splits a key into lowercase words on punctuation, digits and camelCase boundaries
/// (`APIKey` → `api`, `key`; `DB_PASS2` → `db`, `pass`).
pub(crate) fn key_words(key: &str) -> Vec<String> {
    let chars: Vec<char> = key.chars().collect();
    let mut words = Vec::new();
    let mut cur = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if !c.is_ascii_alphabetic() {
            if !cur.is_empty() {
                words.push(std::mem::take(&mut cur));
            }
            continue;
        }
        if c.is_ascii_uppercase() && !cur.is_empty() {
            let prev_lower = chars
                .get(i.wrapping_sub(1))
                .is_some_and(char::is_ascii_lowercase);
            let next_lower = chars.get(i + 1).is_some_and(char::is_ascii_lowercase);
            let prev_upper = chars
                .get(i.wrapping_sub(1))
                .is_some_and(char::is_ascii_uppercase);
            if prev_lower || (prev_upper && next_lower) {
                words.push(std::mem::take(&mut cur));
            }
        }
        cur.push(c.to_ascii_lowercase());
    }
    if !cur.is_empty() {
        words.push(cur);
    }
    words
}

/// True when a key (env name, YAML/JSON key, flag, header) holds a secret value.
pub(crate) fn is_secret_key(key: &str) -> bool {
    let words = key_words(key);
    if words.is_empty() {
        return false;
    }
    let joined = words.join("_");
    // GCP service-account JSON, session cookies, OIDC: an `id` that is itself the credential.
    if matches!(
        joined.as_str(),
        "private_key_id" | "session_id" | "sess_id" | "id_token"
    ) {
        return true;
    }
    if words.iter().any(|w| REFERENCE_WORDS.contains(&w.as_str())) {
        return false;
    }
    words.iter().enumerate().any(|(i, w)| {
        SECRET_WORDS.contains(&w.as_str())
            || (w == "key" && i > 0 && KEY_QUALIFIERS.contains(&words[i - 1].as_str()))
            || SECRET_SUFFIXES
                .iter()
                .any(|s| w.len() > s.len() && w.ends_with(s))
    })
}

/// True when a key is a reference / setting word (`name`, `key` excluded) — used by the
/// structural pass to stop treating nested values under a secret key as secret.
pub(crate) fn is_reference_key(key: &str) -> bool {
    let words = key_words(key);
    words.iter().any(|w| REFERENCE_WORDS.contains(&w.as_str())) || words == ["key"]
}

/// True when a long blob under this key is expected (digests, ids, public material).
pub(crate) fn is_benign_blob_key(key: &str) -> bool {
    let glued: String = key
        .chars()
        .filter(char::is_ascii_alphabetic)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    BENIGN_BLOB_WORDS.contains(&glued.as_str())
        || key_words(key)
            .iter()
            .any(|w| BENIGN_BLOB_WORDS.contains(&w.as_str()))
}

/// Values that cannot be a secret even under a secret-looking key: booleans, empties, masks,
/// template placeholders, file paths and auth-scheme words. Keeping them verbatim matters for
/// diagnosis ("password: ${DB_PASSWORD}" says the variable was never substituted).
pub(crate) fn is_benign_value(value: &str) -> bool {
    let v = value.trim();
    if v.is_empty() {
        return true;
    }
    let lower = v.to_ascii_lowercase();
    if matches!(
        lower.as_str(),
        "true"
            | "false"
            | "null"
            | "none"
            | "nil"
            | "yes"
            | "no"
            | "on"
            | "off"
            | "undefined"
            | "~"
            | "-"
            | "n/a"
            | "empty"
            | "unset"
            | "redacted"
            | "[redacted]"
            | "masked"
            | "hidden"
            | "changeme"
            | "change-me"
            | "change_me"
            | "placeholder"
            | "bearer"
            | "basic"
            | "digest"
            | "negotiate"
            | "token"
    ) {
        return true;
    }
    // Masks such as `****`, `xxxx`, `•••`.
    if v.chars()
        .all(|c| matches!(c, '*' | '•' | 'x' | 'X' | '#' | '.'))
    {
        return true;
    }
    // Template / variable placeholders: ${X}, $(X), $X, {{ .Values.x }}, <password>, %X%.
    let templated = (v.starts_with("${") && v.ends_with('}'))
        || (v.starts_with("$(") && v.ends_with(')'))
        || (v.starts_with("{{") && v.ends_with("}}"))
        || (v.starts_with('<') && v.ends_with('>') && !v[1..v.len() - 1].contains(['<', '>']))
        || (v.len() > 2 && v.starts_with('%') && v.ends_with('%'))
        || (v.len() > 1
            && v.starts_with('$')
            && v[1..]
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_'));
    if templated {
        return true;
    }
    // File paths: `passwordFile`-style values that landed under a secret key.
    (v.starts_with('/') || v.starts_with("./") || v.starts_with("~/"))
        && v.len() > 1
        && !v.contains(char::is_whitespace)
        && v[1..].contains('/')
}

/// Shannon entropy in bits per character.
pub(crate) fn shannon(s: &str) -> f64 {
    let mut counts = [0u32; 256];
    let mut n = 0u32;
    for b in s.bytes() {
        counts[usize::from(b)] += 1;
        n += 1;
    }
    if n == 0 {
        return 0.0;
    }
    let n = f64::from(n);
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = f64::from(c) / n;
            -p * p.log2()
        })
        .sum()
}

pub(crate) fn has_digit(s: &str) -> bool {
    s.bytes().any(|b| b.is_ascii_digit())
}

pub(crate) fn has_upper(s: &str) -> bool {
    s.bytes().any(|b| b.is_ascii_uppercase())
}

pub(crate) fn has_lower(s: &str) -> bool {
    s.bytes().any(|b| b.is_ascii_lowercase())
}

pub(crate) fn is_hex(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Kubernetes generated names (`api-7d9f8c6b5-x2kq9`) and DNS-ish labels: lowercase words
/// joined by dashes. Long enough to look like a blob, never a secret.
pub(crate) fn is_dashed_lowercase_name(s: &str) -> bool {
    s.contains('-')
        && s.split('-').all(|p| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
}

/// A run that looks machine-generated rather than a word: letters and digits mixed, and for
/// long base64 runs, both cases.
pub(crate) fn looks_random(s: &str) -> bool {
    if is_hex(s) {
        return s.len() >= 32 && has_digit(s) && shannon(s) >= 3.0;
    }
    has_digit(s)
        && has_upper(s)
        && has_lower(s)
        && shannon(s) >= 3.5
        && !is_dashed_lowercase_name(s)
}

/// Minimal base64 decoder (standard and URL-safe alphabets, padding optional); the crate has
/// no base64 dependency and only needs to peek inside candidate blobs.
pub(crate) fn base64_decode(s: &str) -> Option<Vec<u8>> {
    fn val(b: u8) -> Option<u32> {
        match b {
            b'A'..=b'Z' => Some(u32::from(b - b'A')),
            b'a'..=b'z' => Some(u32::from(b - b'a') + 26),
            b'0'..=b'9' => Some(u32::from(b - b'0') + 52),
            b'+' | b'-' => Some(62),
            b'/' | b'_' => Some(63),
            _ => None,
        }
    }
    let trimmed = s.trim_end_matches('=');
    let mut out = Vec::with_capacity(trimmed.len() * 3 / 4);
    let mut acc = 0u32;
    let mut bits = 0u32;
    for b in trimmed.bytes() {
        if b.is_ascii_whitespace() {
            continue;
        }
        acc = (acc << 6) | val(b)?;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            // Masking keeps the low byte; truncation is the intent.
            out.push(((acc >> bits) & 0xff) as u8);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_split_like_humans_read_them() {
        assert_eq!(key_words("DB_PASSWORD"), ["db", "password"]);
        assert_eq!(key_words("clientSecret"), ["client", "secret"]);
        assert_eq!(key_words("APIKey"), ["api", "key"]);
        assert_eq!(key_words("DB_PASS2"), ["db", "pass"]);
        assert_eq!(key_words("x-api-key"), ["x", "api", "key"]);
        assert_eq!(key_words("tls.key"), ["tls", "key"]);
    }

    #[test]
    fn secret_keys() {
        for k in [
            "password",
            "DB_PASSWORD",
            "MYSQL_ROOT_PW",
            "DB_PASS2",
            "clientSecret",
            "client-secret",
            "api_key",
            "X-Api-Key",
            "apiKey",
            "PGPASSWORD",
            "access_token",
            "tls.key",
            "client-key-data",
            "secretAccessKey",
            "private_key_id",
            "auth",
            "--token",
            "SECRET_KEY_BASE",
        ] {
            assert!(is_secret_key(k), "{k} should be secret");
        }
    }

    #[test]
    fn reference_keys_are_not_secret() {
        for k in [
            "secretName",
            "secretKeyRef",
            "passwordFile",
            "password_min_length",
            "tokenTTL",
            "tokens_in",
            "max_tokens",
            "keyring",
            "author",
            "key",
            "public_key",
            "token_type",
            "imagePullSecrets",
            "existingSecret",
            "password-stdin",
            "tokenizer",
            "authority",
        ] {
            assert!(!is_secret_key(k), "{k} should not be secret");
        }
    }

    #[test]
    fn benign_values() {
        for v in [
            "${DB_PASSWORD}",
            "<password>",
            "{{ .Values.x }}",
            "****",
            "true",
            "/etc/pw/file",
            "$(VAR)",
        ] {
            assert!(is_benign_value(v), "{v}");
        }
        for v in ["hunter2", "s3cr3t!", "/", "p/w"] {
            assert!(!is_benign_value(v), "{v}");
        }
    }

    #[test]
    fn base64_roundtrip_of_known_text() {
        assert_eq!(
            base64_decode("dXNlcjpwYXNz").as_deref(),
            Some(&b"user:pass"[..])
        );
        assert_eq!(
            base64_decode("LS0tLS1CRUdJTg==").as_deref(),
            Some(&b"-----BEGIN"[..])
        );
        assert!(base64_decode("not base64!").is_none());
    }
}
