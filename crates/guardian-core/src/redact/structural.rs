//! Structural pass: redaction by key path over JSON values (Kubernetes objects, alert
//! payloads, kubeconfigs) before any free-text rule.
//!
//! Structure is the only reliable signal for low-entropy secrets: `password: hunter2` in a
//! Secret's `stringData` has no shape a regex could recognise, but its position says everything.

use serde_json::{Map, Value};

use super::RedactionSession;
use super::heuristics::{is_benign_value, is_reference_key, is_secret_key};
use super::receipt::Category;

const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

#[derive(Clone, Copy, Default)]
struct Ctx {
    /// Somewhere under a key that names a secret (`credentials: {user: …, pass: …}`).
    secret: bool,
    /// Inside a kubeconfig's `users[].user`.
    kube_user: bool,
}

pub(super) fn redact(s: &mut RedactionSession<'_>, value: &Value) -> Value {
    walk(s, value, Ctx::default())
}

fn walk(s: &mut RedactionSession<'_>, value: &Value, ctx: Ctx) -> Value {
    match value {
        Value::String(t) if ctx.secret && !is_benign_value(t) => {
            let category = if ctx.kube_user {
                Category::KubeconfigCredential
            } else {
                Category::SecretField
            };
            match s.mask_whole(category, t) {
                Some(p) => Value::String(p),
                None => Value::String(t.clone()),
            }
        }
        Value::String(t) => Value::String(s.text(t)),
        Value::Array(items) => Value::Array(items.iter().map(|i| walk(s, i, ctx)).collect()),
        Value::Object(map) => walk_object(s, map, ctx),
        Value::Null | Value::Bool(_) | Value::Number(_) => value.clone(),
    }
}

fn walk_object(s: &mut RedactionSession<'_>, map: &Map<String, Value>, ctx: Ctx) -> Value {
    let kind = map.get("kind").and_then(Value::as_str);
    let is_secret_object = kind == Some("Secret");
    // A kubeconfig is `kind: Config`, but snippets often lack it; `users` next to `clusters` or
    // `contexts` is just as telling.
    let is_kubeconfig = kind == Some("Config")
        || (map.get("users").is_some_and(Value::is_array)
            && (map.contains_key("clusters") || map.contains_key("contexts")));
    let mut out = Map::with_capacity(map.len());
    for (k, v) in map {
        let new_v = if is_secret_object && (k == "data" || k == "stringData") {
            secret_data(s, v)
        } else if k == LAST_APPLIED {
            mask_value(s, Category::LastAppliedConfiguration, v)
        } else if k == "env" && v.is_array() {
            env(s, v, ctx)
        } else if (k == "command" || k == "args") && is_command_like(v) {
            command_args(s, v)
        } else if is_kubeconfig && k == "users" {
            kube_users(s, v, ctx)
        } else if ctx.kube_user && k == "user" {
            walk(
                s,
                v,
                Ctx {
                    kube_user: true,
                    ..ctx
                },
            )
        } else if is_secret_key(k) {
            walk(
                s,
                v,
                Ctx {
                    secret: true,
                    ..ctx
                },
            )
        } else if ctx.secret && is_reference_key(k) {
            // `password: {secretKeyRef: {name: db, key: pw}}` — a reference, keep it readable.
            walk(
                s,
                v,
                Ctx {
                    secret: false,
                    ..ctx
                },
            )
        } else {
            walk(s, v, ctx)
        };
        out.insert(s.text(k), new_v);
    }
    Value::Object(out)
}

/// `users: [{name, user: {token, client-key-data, auth-provider: {config: …}, exec: {env}}}]`.
fn kube_users(s: &mut RedactionSession<'_>, v: &Value, ctx: Ctx) -> Value {
    let Value::Array(items) = v else {
        return walk(s, v, ctx);
    };
    Value::Array(
        items
            .iter()
            .map(|item| match item {
                Value::Object(m) => {
                    let mut out = Map::with_capacity(m.len());
                    for (k, v) in m {
                        let inner = if k == "user" {
                            Ctx {
                                kube_user: true,
                                ..ctx
                            }
                        } else {
                            ctx
                        };
                        out.insert(s.text(k), walk(s, v, inner));
                    }
                    Value::Object(out)
                }
                other => walk(s, other, ctx),
            })
            .collect(),
    )
}

/// Secret `data`/`stringData`: every value masked, key names kept (they say *what* is
/// configured — `tls.key`, `.dockerconfigjson` — which helps diagnosis).
fn secret_data(s: &mut RedactionSession<'_>, v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut out = Map::with_capacity(m.len());
            for (k, val) in m {
                out.insert(k.clone(), mask_value(s, Category::SecretData, val));
            }
            Value::Object(out)
        }
        other => mask_value(s, Category::SecretData, other),
    }
}

/// Replaces a whole value (string, or any JSON serialised to a string) with a placeholder.
/// Empty strings and nulls carry nothing and stay.
fn mask_value(s: &mut RedactionSession<'_>, category: Category, v: &Value) -> Value {
    let raw = match v {
        Value::Null => return Value::Null,
        Value::String(t) if t.is_empty() => return v.clone(),
        Value::String(t) => t.clone(),
        other => other.to_string(),
    };
    match s.mask_whole(category, &raw) {
        Some(p) => Value::String(p),
        None => v.clone(),
    }
}

/// Container env: `value` dropped for every entry, names and `valueFrom` references kept.
fn env(s: &mut RedactionSession<'_>, v: &Value, ctx: Ctx) -> Value {
    let Value::Array(items) = v else {
        return walk(s, v, ctx);
    };
    Value::Array(
        items
            .iter()
            .map(|item| match item {
                Value::Object(m) if m.contains_key("name") => {
                    let mut out = Map::with_capacity(m.len());
                    for (k, val) in m {
                        let new_v = if k == "value" {
                            mask_value(s, Category::EnvValue, val)
                        } else {
                            walk(s, val, ctx)
                        };
                        out.insert(k.clone(), new_v);
                    }
                    Value::Object(out)
                }
                other => walk(s, other, ctx),
            })
            .collect(),
    )
}

fn is_command_like(v: &Value) -> bool {
    match v {
        Value::String(t) => !t.is_empty(),
        Value::Array(items) => {
            !items.is_empty() && items.iter().all(|i| i.is_string() || i.is_number())
        }
        _ => false,
    }
}

/// `command`/`args` replaced by one placeholder, keeping the JSON type (array stays array).
fn command_args(s: &mut RedactionSession<'_>, v: &Value) -> Value {
    match v {
        Value::Array(items) => {
            let joined: Vec<String> = items
                .iter()
                .map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_owned))
                .collect();
            match s.mask_whole(Category::CommandArgs, &joined.join(" ")) {
                Some(p) => Value::Array(vec![Value::String(p)]),
                None => v.clone(),
            }
        }
        other => mask_value(s, Category::CommandArgs, other),
    }
}
