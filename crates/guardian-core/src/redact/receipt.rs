//! Redaction categories and the per-incident receipt (counts only, never values).

use std::collections::BTreeMap;
use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

macro_rules! categories {
    ($( $(#[$doc:meta])* $variant:ident => $name:literal, )+) => {
        /// What kind of secret a placeholder stands for. Serialised snake_case; the same string
        /// appears inside placeholders (`[REDACTED:jwt#1]`) and as receipt keys.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum Category {
            $( $(#[$doc])* $variant, )+
        }

        impl Category {
            /// Every category, in receipt order.
            pub const ALL: &'static [Category] = &[$(Category::$variant,)+];

            /// The snake_case name used in placeholders and receipts.
            pub fn as_str(&self) -> &'static str {
                match self {
                    $( Category::$variant => $name, )+
                }
            }
        }
    };
}

categories! {
    /// PEM private key blocks (RSA/EC/OpenSSH/PKCS#8/PGP), raw, JSON-escaped or base64-wrapped.
    PemPrivateKey => "pem_private_key",
    /// JSON Web Tokens (JWS, JWE, `alg:none`, base64-wrapped).
    Jwt => "jwt",
    /// `Authorization: Bearer …`, `Authorization: Token …`, standalone `Bearer <token>`.
    BearerToken => "bearer_token",
    /// `Authorization: Basic …`, standalone `Basic <base64 user:pass>`, `curl -u user:pass`.
    BasicAuth => "basic_auth",
    /// Other `Authorization` schemes (Digest, AWS4-HMAC-SHA256, Negotiate, …).
    AuthorizationHeader => "authorization_header",
    /// `X-Api-Key:`, `Api-Key:`, `X-Auth-Token:`, `Private-Token:` and similar headers.
    ApiKeyHeader => "api_key_header",
    /// `Cookie:` / `Set-Cookie:` values (names and attributes kept).
    Cookie => "cookie",
    /// AWS access key ids (`AKIA…`, `ASIA…`).
    AwsAccessKey => "aws_access_key",
    /// AWS secret access keys (next to their keyword, or a bare 40-char base64 run).
    AwsSecretKey => "aws_secret_key",
    /// AWS session tokens next to `session_token` / `X-Amz-Security-Token`.
    AwsSessionToken => "aws_session_token",
    /// Google API keys (`AIza…`).
    GcpApiKey => "gcp_api_key",
    /// Google OAuth access/refresh tokens and client secrets (`ya29.`, `1//0`, `GOCSPX-`).
    GcpOauthToken => "gcp_oauth_token",
    /// Azure storage / Service Bus keys and SAS signatures in connection strings.
    AzureKey => "azure_key",
    /// Entra ID (Azure AD) client secrets (`…Q~…`).
    AzureClientSecret => "azure_client_secret",
    /// GitHub tokens (`ghp_`, `gho_`, `ghu_`, `ghs_`, `ghr_`, `github_pat_`).
    GithubToken => "github_token",
    /// GitLab tokens (`glpat-`, `gldt-`, `glrt-`, …).
    GitlabToken => "gitlab_token",
    /// Slack tokens (`xoxb-`, `xoxp-`, `xapp-`, `xoxe.`…).
    SlackToken => "slack_token",
    /// Secret path of Slack / Discord / Teams incoming-webhook URLs.
    WebhookUrl => "webhook_url",
    /// Stripe secret / restricted keys and webhook secrets.
    StripeKey => "stripe_key",
    /// LLM provider keys (OpenAI/Anthropic `sk-…`, Hugging Face, Groq, xAI, Replicate).
    LlmApiKey => "llm_api_key",
    /// Other SaaS tokens with a recognisable prefix (SendGrid, npm, PyPI, Docker Hub, Vault, …).
    SaasToken => "saas_token",
    /// Kubernetes bootstrap tokens (`abcdef.0123456789abcdef`).
    BootstrapToken => "bootstrap_token",
    /// Password (or token-only userinfo) in `scheme://user:PASSWORD@host`; user and host kept.
    UrlPassword => "url_password",
    /// Secret query parameters (`access_token=`, `sig=`, `X-Amz-Signature=`, …).
    UrlQuerySecret => "url_query_secret",
    /// Passwords inside JDBC/ODBC/ADO connection strings (`;Password=…`, Oracle `user/pw@`).
    ConnectionString => "connection_string",
    /// `key=value`, `key: value`, JSON/YAML/XML fields and CLI flags whose key names a secret.
    KeyValueSecret => "key_value_secret",
    /// High-entropy base64 runs near a secret keyword or after an unrecognised key.
    Base64Blob => "base64_blob",
    /// Long hex runs near a secret keyword or after an unrecognised key.
    HexBlob => "hex_blob",
    /// Structural: a string value under a secret-looking key in a JSON object.
    SecretField => "secret_field",
    /// Structural: `env[].value` of a container (references in `valueFrom` are kept).
    EnvValue => "env_value",
    /// Structural: container `command` / `args`.
    CommandArgs => "command_args",
    /// Structural: the `kubectl.kubernetes.io/last-applied-configuration` annotation.
    LastAppliedConfiguration => "last_applied_configuration",
    /// Structural: `data` / `stringData` values of a `kind: Secret` object (key names kept).
    SecretData => "secret_data",
    /// Structural: credentials under a kubeconfig's `users[].user`.
    KubeconfigCredential => "kubeconfig_credential",
    /// A value configured as secret at start-up (API keys, webhook URLs).
    KnownSecret => "known_secret",
}

impl Category {
    /// Categories produced only by [`RedactionSession::json`](super::RedactionSession::json)'s
    /// structural pass or by configuration, never by the free-text rules.
    pub fn is_structural(&self) -> bool {
        matches!(
            self,
            Category::SecretField
                | Category::EnvValue
                | Category::CommandArgs
                | Category::LastAppliedConfiguration
                | Category::SecretData
                | Category::KubeconfigCredential
                | Category::KnownSecret
        )
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What was masked for one incident: a count of masked occurrences per category. It never
/// holds a value, a hash of a value or a position, so it is safe to store, log and show.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(transparent)]
pub struct Receipt {
    counts: BTreeMap<Category, u64>,
}

impl Receipt {
    /// An empty receipt.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records `n` masked occurrences of `category`.
    pub fn add(&mut self, category: Category, n: u64) {
        if n > 0 {
            *self.counts.entry(category).or_insert(0) += n;
        }
    }

    /// Masked occurrences of one category.
    pub fn get(&self, category: Category) -> u64 {
        self.counts.get(&category).copied().unwrap_or(0)
    }

    /// Masked occurrences over all categories.
    pub fn total(&self) -> u64 {
        self.counts.values().sum()
    }

    /// True when nothing was masked.
    pub fn is_empty(&self) -> bool {
        self.counts.is_empty()
    }

    /// Adds another receipt's counts (e.g. the notification's receipt into the incident's).
    pub fn merge(&mut self, other: &Receipt) {
        for (&c, &n) in &other.counts {
            self.add(c, n);
        }
    }

    /// Categories with a non-zero count, in receipt order.
    pub fn iter(&self) -> impl Iterator<Item = (Category, u64)> + '_ {
        self.counts.iter().map(|(&c, &n)| (c, n))
    }
}
