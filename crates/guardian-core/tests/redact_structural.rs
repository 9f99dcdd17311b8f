//! Structural pass of `RedactionSession::json`: Kubernetes objects, kubeconfigs and alert
//! payloads are redacted by key path before the text rules run.

use guardian_core::redact::{Category, Redactor};
use serde_json::{Value, json};

fn redact(v: &Value) -> (Value, guardian_core::redact::Receipt) {
    Redactor::default().redact_json(v)
}

fn is_placeholder(v: &Value, category: &str) -> bool {
    v.as_str()
        .is_some_and(|s| s.starts_with(&format!("[REDACTED:{category}#")) && s.ends_with(']'))
}

#[test]
fn pod_spec_env_values_and_command_args_are_dropped() {
    let pod = json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": { "name": "api-7d9f8c6b5-x2kq9", "namespace": "shop", "uid": "3f0c2a10-9b1e-4c8f-a2d4-5e6f7a8b9c0d",
                      "labels": { "pod-template-hash": "7d9f8c6b5" } },
        "spec": { "containers": [{
            "name": "api",
            "image": "ghcr.io/org/api@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
            "command": ["/bin/api"],
            "args": ["--db-password", "hunter2EXAMPLE", "--port=8080"],
            "env": [
                { "name": "LOG_LEVEL", "value": "debug" },
                { "name": "DB_PASSWORD", "value": "hunter2EXAMPLE" },
                { "name": "API_TOKEN", "valueFrom": { "secretKeyRef": { "name": "api", "key": "token" } } },
                { "name": "EMPTY", "value": "" }
            ],
            "resources": { "limits": { "memory": "512Mi" }, "requests": { "cpu": "100m" } }
        }]},
        "status": { "phase": "Running", "containerStatuses": [{ "restartCount": 5, "ready": false,
            "containerID": "containerd://0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" }] }
    });
    let (out, receipt) = redact(&pod);
    let c = &out["spec"]["containers"][0];
    assert!(!out.to_string().contains("hunter2EXAMPLE"));
    assert!(
        !out.to_string().contains("debug"),
        "all env values are dropped, not only secret-looking names"
    );
    assert!(is_placeholder(&c["env"][0]["value"], "env_value"));
    assert!(is_placeholder(&c["env"][1]["value"], "env_value"));
    assert_eq!(c["env"][1]["name"], "DB_PASSWORD", "names are kept");
    assert_eq!(
        c["env"][2], pod["spec"]["containers"][0]["env"][2],
        "valueFrom references are kept verbatim"
    );
    assert_eq!(c["env"][3]["value"], "", "empty values carry nothing");
    assert_eq!(c["command"].as_array().map(Vec::len), Some(1));
    assert!(is_placeholder(&c["command"][0], "command_args"));
    assert!(is_placeholder(&c["args"][0], "command_args"));
    // Diagnosis-critical fields survive byte-identical.
    assert_eq!(c["image"], pod["spec"]["containers"][0]["image"]);
    assert_eq!(c["resources"], pod["spec"]["containers"][0]["resources"]);
    assert_eq!(out["metadata"], pod["metadata"]);
    assert_eq!(out["status"], pod["status"]);
    assert_eq!(receipt.get(Category::EnvValue), 2);
    assert_eq!(receipt.get(Category::CommandArgs), 2);
}

#[test]
fn last_applied_configuration_is_replaced() {
    let inner = r#"{"apiVersion":"v1","kind":"Secret","stringData":{"password":"hunter2EXAMPLE"}}"#;
    let obj = json!({ "kind": "Deployment", "metadata": { "name": "x", "annotations": {
        "kubectl.kubernetes.io/last-applied-configuration": inner,
        "deployment.kubernetes.io/revision": "3" } } });
    let (out, receipt) = redact(&obj);
    let ann = &out["metadata"]["annotations"];
    assert!(is_placeholder(
        &ann["kubectl.kubernetes.io/last-applied-configuration"],
        "last_applied_configuration"
    ));
    assert_eq!(ann["deployment.kubernetes.io/revision"], "3");
    assert_eq!(receipt.get(Category::LastAppliedConfiguration), 1);
}

#[test]
fn secret_objects_keep_key_names_only() {
    let secret = json!({ "apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/dockerconfigjson",
        "metadata": { "name": "regcred", "namespace": "shop" },
        "data": { ".dockerconfigjson": "eyJhdXRocyI6e319", "tls.key": "c2hvcnQ=" },
        "stringData": { "username": "admin", "password": "hunter2" } });
    let (out, receipt) = redact(&secret);
    for k in [".dockerconfigjson", "tls.key"] {
        assert!(
            is_placeholder(&out["data"][k], "secret_data"),
            "{k}: {}",
            out["data"][k]
        );
    }
    assert!(
        is_placeholder(&out["stringData"]["username"], "secret_data"),
        "every value, even low-risk ones"
    );
    assert!(is_placeholder(
        &out["stringData"]["password"],
        "secret_data"
    ));
    assert_eq!(out["metadata"], secret["metadata"]);
    assert_eq!(out["type"], secret["type"]);
    assert_eq!(receipt.get(Category::SecretData), 4);
}

#[test]
fn kubeconfig_user_credentials_are_masked() {
    let kubeconfig = json!({ "apiVersion": "v1", "kind": "Config",
        "clusters": [{ "name": "prod", "cluster": { "server": "https://10.0.0.1:6443",
            "certificate-authority-data": "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUJFWEFNUExF" } }],
        "users": [{ "name": "admin", "user": {
            "client-certificate-data": "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUJFWEFNUExF",
            "client-key-data": "c2VjcmV0LWtleS1kYXRhLUVYQU1QTEU=",
            "token": "hunter2EXAMPLEtoken",
            "username": "admin", "password": "hunter2EXAMPLE",
            "auth-provider": { "name": "oidc", "config": { "id-token": "x.y.z-EXAMPLE", "refresh-token": "refreshEXAMPLE",
                "client-secret": "clientEXAMPLE", "client-id": "guardian" } },
            "exec": { "command": "aws", "env": [{ "name": "AWS_PROFILE", "value": "prod" }] } } }] });
    let (out, receipt) = redact(&kubeconfig);
    let user = &out["users"][0]["user"];
    for k in ["client-key-data", "token", "password"] {
        assert!(
            is_placeholder(&user[k], "kubeconfig_credential"),
            "{k}: {}",
            user[k]
        );
    }
    for k in ["id-token", "refresh-token", "client-secret"] {
        assert!(
            is_placeholder(&user["auth-provider"]["config"][k], "kubeconfig_credential"),
            "{k}"
        );
    }
    assert_eq!(user["auth-provider"]["config"]["client-id"], "guardian");
    assert_eq!(user["username"], "admin");
    assert_eq!(
        user["client-certificate-data"],
        kubeconfig["users"][0]["user"]["client-certificate-data"]
    );
    assert_eq!(
        out["clusters"], kubeconfig["clusters"],
        "public CA data and server are kept"
    );
    assert!(is_placeholder(
        &user["exec"]["env"][0]["value"],
        "env_value"
    ));
    assert!(receipt.get(Category::KubeconfigCredential) >= 6);
}

#[test]
fn alert_annotations_go_through_text_rules_and_secret_keys() {
    let alert = json!({ "status": "firing",
        "labels": { "alertname": "DBDown", "severity": "critical", "namespace": "shop" },
        "annotations": {
            "description": "connect failed: postgres://app:hunter2EXAMPLE@db.shop:5432/app",
            "runbook_url": "https://runbooks.example.com/db",
            "api_key": "hunter3EXAMPLE"
        },
        "startsAt": "2024-01-01T00:00:00Z", "fingerprint": "0123456789abcdef", "value": 3.5, "active": true });
    let (out, receipt) = redact(&alert);
    assert_eq!(
        out["annotations"]["description"],
        "connect failed: postgres://app:[REDACTED:url_password#1]@db.shop:5432/app"
    );
    assert!(is_placeholder(
        &out["annotations"]["api_key"],
        "secret_field"
    ));
    assert_eq!(out["labels"], alert["labels"]);
    assert_eq!(
        out["annotations"]["runbook_url"],
        alert["annotations"]["runbook_url"]
    );
    assert_eq!(out["fingerprint"], alert["fingerprint"]);
    assert_eq!(out["value"], 3.5);
    assert_eq!(out["active"], true);
    assert_eq!(receipt.get(Category::UrlPassword), 1);
    assert_eq!(receipt.get(Category::SecretField), 1);
}

#[test]
fn secret_keys_mask_strings_but_not_numbers_or_references() {
    let v = json!({ "password": "hunter2", "api_key": "k-EXAMPLE", "tokens_in": 120, "password_min_length": 8,
        "token": 12345, "secret": true, "user": "bob", "nested": { "credentials": { "user": "bob", "pass": "x1" } },
        "db": { "password": { "secretKeyRef": { "name": "db", "key": "password" } } },
        "secretName": "my-tls", "passwordFile": "/etc/pw", "empty": { "password": "" }, "tmpl": { "password": "${DB_PASSWORD}" } });
    let (out, _) = redact(&v);
    assert!(is_placeholder(&out["password"], "secret_field"));
    assert!(is_placeholder(&out["api_key"], "secret_field"));
    assert!(is_placeholder(
        &out["nested"]["credentials"]["pass"],
        "secret_field"
    ));
    for (path, want) in [
        ("/tokens_in", json!(120)),
        ("/password_min_length", json!(8)),
        ("/token", json!(12345)),
        ("/secret", json!(true)),
        ("/user", json!("bob")),
        (
            "/db/password/secretKeyRef",
            json!({ "name": "db", "key": "password" }),
        ),
        ("/secretName", json!("my-tls")),
        ("/passwordFile", json!("/etc/pw")),
        ("/empty/password", json!("")),
        ("/tmpl/password", json!("${DB_PASSWORD}")),
    ] {
        assert_eq!(out.pointer(path), Some(&want), "{path}");
    }
}

#[test]
fn json_redaction_is_idempotent_and_consistent() {
    let v = json!({ "kind": "Pod", "spec": { "containers": [{ "name": "a", "env": [{ "name": "X", "value": "hunter2EXAMPLE" }],
        "args": ["--token", "t0kenEXAMPLE"] }] },
        "logs": ["DB_PASSWORD=hunter2EXAMPLE", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJFWEFNUExFIn0.EXAMPLEsig"],
        "event": "token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJFWEFNUExFIn0.EXAMPLEsig rejected" });
    let r = Redactor::default();
    let mut s = r.session();
    let once = s.json(&v);
    // The env value and the log line hold the same password: one placeholder for both.
    assert_eq!(
        once["logs"][0],
        format!(
            "DB_PASSWORD={}",
            once["spec"]["containers"][0]["env"][0]["value"]
                .as_str()
                .unwrap_or("?")
        )
    );
    assert_eq!(once["logs"][1], "[REDACTED:jwt#1]");
    assert_eq!(once["event"], "token [REDACTED:jwt#1] rejected");
    let (twice, receipt) = r.redact_json(&once);
    assert_eq!(twice, once);
    assert!(receipt.is_empty(), "{receipt:?}");
    let r2 = s.into_receipt();
    assert_eq!(r2.get(Category::Jwt), 2);
    assert_eq!(
        serde_json::to_value(&r2).ok(),
        Some(json!({ "jwt": 2, "key_value_secret": 1, "env_value": 1, "command_args": 1 }))
    );
}

#[test]
fn receipt_merges_and_never_holds_values() {
    let r = Redactor::default();
    let (_, mut a) = r.redact_text("DB_PASSWORD=hunter2EXAMPLE");
    let (_, b) = r.redact_text("AKIAIOSFODNN7EXAMPLE and DB_PASSWORD=x1y2z3EXAMPLE");
    a.merge(&b);
    assert_eq!(a.total(), 3);
    assert_eq!(a.get(Category::KeyValueSecret), 2);
    let json = serde_json::to_string(&a).unwrap_or_default();
    assert!(!json.contains("EXAMPLE"), "{json}");
    assert_eq!(json, r#"{"aws_access_key":1,"key_value_secret":2}"#);
    let back: guardian_core::redact::Receipt = serde_json::from_str(&json).unwrap_or_default();
    assert_eq!(back, a);
}
