//! A generic, signed JSON webhook ([`Webhook`]): the integration point for anything that is not
//! Slack or PagerDuty (chat bridges, ticketing, custom automation).
//!
//! The contract is ours, so it is versioned and documented (docs/notifications.md, "Webhook
//! schema and signature"):
//!
//! ```text
//! POST <url>
//! Content-Type: application/json
//! X-Guardian-Timestamp: <unix seconds at sending>
//! X-Guardian-Signature: v1=<hex HMAC-SHA256(secret, "<timestamp>.<raw body>")>
//! X-Guardian-Idempotency-Key: <key>
//!
//! {"schema": "guardian.notification/v1", "idempotency_key": …, "kind": …,
//!  "decided_at": <RFC 3339>, "incident": <the API's incident JSON>, "link": <url or null>}
//! ```
//!
//! Choices:
//! - The signature covers the timestamp as well as the body (the Stripe/Slack scheme), so a
//!   captured request cannot be replayed later with a fresh timestamp; receivers should reject
//!   timestamps far from their clock (we suggest 5 minutes). The timestamp is the *sending* time,
//!   not `decided_at`: a redelivery hours later must still verify as fresh.
//! - The signature is computed over the exact bytes sent; receivers must verify the raw body
//!   before parsing it (re-serialising changes bytes).
//! - `v1=` names the scheme, so a future scheme can be sent alongside during a migration;
//!   [`verify`] accepts a comma-separated list and succeeds when any `v1` entry matches, which
//!   also lets a receiver rotate secrets.
//! - Delivery is at least once: the idempotency key (also in the body) is stable across
//!   redeliveries of one decision to one channel; receivers drop repeats by it.
//! - Any 2xx is success; other answers follow the shared [`classify`] policy. The URL and the
//!   secret never appear in a [`SendError`] or a log line.

use futures::FutureExt;
use futures::future::BoxFuture;
use guardian_core::time::to_rfc3339;
use hmac::{Hmac, Mac};
use reqwest::header::CONTENT_TYPE;
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use sha2::Sha256;

use super::{Delivered, Message, Notifier, SendError, classify, request_error};
use crate::api::views::IncidentView;

/// The body's `schema`: bumped on any incompatible change to the body.
pub const SCHEMA: &str = "guardian.notification/v1";
/// Header carrying the signing time (Unix seconds).
pub const TIMESTAMP_HEADER: &str = "X-Guardian-Timestamp";
/// Header carrying `v1=<hex>`.
pub const SIGNATURE_HEADER: &str = "X-Guardian-Signature";
/// Header carrying the idempotency key.
pub const IDEMPOTENCY_HEADER: &str = "X-Guardian-Idempotency-Key";
/// The signature scheme prefix.
const SCHEME: &str = "v1=";

/// A signed JSON webhook.
#[derive(Debug, Clone)]
pub struct Webhook {
    /// Configured channel name.
    name: String,
    /// Target URL (such URLs often embed a token, so it is a secret).
    url: SecretString,
    /// HMAC-SHA256 signing secret.
    secret: SecretString,
    /// Shared client (its timeout bounds every delivery).
    http: reqwest::Client,
}

impl Webhook {
    /// A channel posting to `url`, signing with `secret`.
    pub fn new(
        name: String,
        url: SecretString,
        secret: SecretString,
        http: reqwest::Client,
    ) -> Self {
        Self {
            name,
            url,
            secret,
            http,
        }
    }
}

/// The `guardian.notification/v1` body. Field order is the documented order.
#[derive(Debug, Serialize)]
struct Body<'a> {
    schema: &'static str,
    idempotency_key: &'a str,
    kind: &'static str,
    decided_at: String,
    incident: &'a IncidentView,
    link: Option<&'a str>,
}

/// The exact body bytes for `message`.
pub fn body(message: &Message) -> Result<Vec<u8>, serde_json::Error> {
    serde_json::to_vec(&Body {
        schema: SCHEMA,
        idempotency_key: &message.idempotency_key,
        kind: message.kind.as_str(),
        decided_at: to_rfc3339(message.decided_at),
        incident: &message.incident,
        link: message.link.as_deref(),
    })
}

fn mac(secret: &[u8], timestamp: i64, body: &[u8]) -> Hmac<Sha256> {
    // NB: HMAC takes keys of any length (long ones are hashed first), so this never fails.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret)
        .expect("HMAC-SHA256 accepts keys of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The `X-Guardian-Signature` value: `v1=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`.
pub fn sign(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    format!(
        "{SCHEME}{}",
        hex::encode(mac(secret, timestamp, body).finalize().into_bytes())
    )
}

/// Whether `header` (an `X-Guardian-Signature` value, possibly a comma-separated list) holds a
/// valid `v1` signature of `timestamp` and `body`. The comparison is constant-time. It does not
/// judge the timestamp's freshness: that is the receiver's clock policy.
pub fn verify(secret: &[u8], timestamp: i64, body: &[u8], header: &str) -> bool {
    header
        .split(',')
        .filter_map(|part| part.trim().strip_prefix(SCHEME))
        .filter_map(|hex_sig| hex::decode(hex_sig).ok())
        // `any` may stop early, but only after a full constant-time comparison: the position
        // of a match in the list is not secret.
        .any(|sig| mac(secret, timestamp, body).verify_slice(&sig).is_ok())
}

impl Notifier for Webhook {
    fn name(&self) -> &str {
        &self.name
    }

    fn send<'a>(&'a self, message: &'a Message) -> BoxFuture<'a, Result<Delivered, SendError>> {
        async move {
            let bytes = body(message).map_err(|e| SendError::Permanent {
                reason: format!("unable to encode the webhook body: {e}"),
            })?;
            let timestamp = jiff::Timestamp::now().as_second();
            let signature = sign(self.secret.expose_secret().as_bytes(), timestamp, &bytes);
            let response = self
                .http
                .post(self.url.expose_secret())
                .header(CONTENT_TYPE, "application/json")
                .header(TIMESTAMP_HEADER, timestamp.to_string())
                .header(SIGNATURE_HEADER, signature)
                .header(IDEMPOTENCY_HEADER, message.idempotency_key.as_str())
                .body(bytes)
                .send()
                .await
                .map_err(|e| request_error(&e))?;
            // The receiver's body is not quoted: it is not ours to trust or to store.
            classify(response.status(), response.headers())?;
            Ok(Delivered::default())
        }
        .boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_round_trip_and_reject_tampering() {
        let sig = sign(b"s3cret", 1_700_000_000, b"{}");
        assert!(sig.starts_with("v1=") && sig.len() == 3 + 64);
        assert!(verify(b"s3cret", 1_700_000_000, b"{}", &sig));
        assert!(verify(
            b"s3cret",
            1_700_000_000,
            b"{}",
            &format!("v0=abcd, {sig}")
        ));
        assert!(!verify(b"s3cret", 1_700_000_001, b"{}", &sig));
        assert!(!verify(b"s3cret", 1_700_000_000, b"{ }", &sig));
        assert!(!verify(b"other", 1_700_000_000, b"{}", &sig));
        assert!(!verify(b"s3cret", 1_700_000_000, b"{}", "v1=zz"));
        assert!(!verify(b"s3cret", 1_700_000_000, b"{}", ""));
        assert!(!verify(b"s3cret", 1_700_000_000, b"{}", &sig[3..]));
    }
}
