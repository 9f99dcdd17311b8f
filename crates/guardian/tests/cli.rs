//! The `guardian` binary end to end: `serve` as a real process, the `incidents` client against
//! it, and the offline commands.

use std::io::Write;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_guardian");
const TOKEN: &str = "cli-test-token-9876543210";

fn guardian(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env_remove("GUARDIAN_CONFIG")
        .env_remove("GUARDIAN_API_TOKEN")
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn check_config_names_the_bad_key_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.yaml");
    std::fs::write(
        &path,
        "cluster_name: prod\nincidents:\n  reopen_windw_secs: 5\n",
    )
    .unwrap();
    let out = guardian(&["check-config", "--config", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("incidents.reopen_windw_secs"), "{err}");

    std::fs::write(&path, "escalation:\n  recurring_episodes: 1\n").unwrap();
    let out = guardian(&["check-config", "--config", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("escalation.recurring_episodes"));

    let out = guardian(&["check-config", "--config", "/nonexistent/guardian.yaml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("/nonexistent/guardian.yaml"));
}

#[test]
fn check_config_prints_the_effective_config_with_the_token_masked() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.yaml");
    std::fs::write(&path, "cluster_name: prod-eu\n").unwrap();
    let out = Command::new(BIN)
        .args(["check-config", "--config", path.to_str().unwrap()])
        .env("GUARDIAN_API_TOKEN", TOKEN)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("cluster_name: prod-eu"), "{stdout}");
    assert!(stdout.contains("[REDACTED]"));
    assert!(!stdout.contains(TOKEN) && !text(&out.stderr).contains(TOKEN));
}

#[test]
fn print_schema_and_version() {
    let out = guardian(&["print-schema"]);
    assert!(out.status.success());
    let schema: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(schema["title"], "Analysis");
    assert!(schema.to_string().contains("needs_human_review"));
    let out = guardian(&["version"]);
    assert_eq!(
        text(&out.stdout).trim(),
        format!("guardian {}", env!("CARGO_PKG_VERSION"))
    );
}

struct Serve {
    child: Child,
    url: String,
    _dir: tempfile::TempDir,
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn serve() -> Serve {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    let child = Command::new(BIN)
        .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--store"])
        .arg(dir.path().join("guardian.db"))
        .env("GUARDIAN_API_TOKEN", TOKEN)
        .env_remove("GUARDIAN_CONFIG")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "guardian serve did not start listening"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    Serve {
        child,
        url,
        _dir: dir,
    }
}

fn client(s: &Serve, args: &[&str]) -> Output {
    Command::new(BIN)
        .arg("incidents")
        .args(args)
        .args(["--server", &s.url])
        .env("GUARDIAN_API_TOKEN", TOKEN)
        .output()
        .unwrap()
}

fn post_alert(s: &Serve, body: &Value) {
    // A plain HTTP/1.1 POST: the test must not depend on the client under test.
    let body = body.to_string();
    let addr = s.url.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "POST /alertmanager HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {TOKEN}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    std::io::Read::read_to_string(&mut stream, &mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
}

#[test]
fn incidents_commands_talk_to_a_running_server() {
    let s = serve();
    post_alert(
        &s,
        &json!({"alerts": [{"status": "firing", "labels": {"alertname": "KubeDeploymentReplicasMismatch", "namespace": "shop", "deployment": "checkout", "severity": "critical"}, "annotations": {"summary": "checkout has 0/3 replicas"}}]}),
    );

    let out = client(&s, &["list"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let table = text(&out.stdout);
    let mut lines = table.lines();
    let header = lines.next().unwrap();
    for col in [
        "ID",
        "NAMESPACE",
        "OBJECT",
        "CATEGORY",
        "SEVERITY",
        "STATUS",
        "SEEN",
        "LAST SEEN",
    ] {
        assert!(header.contains(col), "{header}");
    }
    let row = lines.next().unwrap();
    assert!(
        row.contains("shop")
            && row.contains("Deployment/checkout")
            && row.contains("critical")
            && row.contains("open"),
        "{row}"
    );

    let out = client(&s, &["list", "-o", "json"]);
    let list: Value = serde_json::from_slice(&out.stdout).unwrap();
    let id = list["incidents"][0]["id"].as_str().unwrap().to_string();

    let out = client(&s, &["ack", &id, "--actor", "alice", "--note", "paged"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout).trim(),
        format!("incident {id} acknowledged")
    );
    let out = client(&s, &["ack", &id]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("409"), "{}", text(&out.stderr));

    let out = client(&s, &["show", &id]);
    let shown = text(&out.stdout);
    assert!(shown.contains("Acknowledged:   by alice"), "{shown}");
    assert!(
        shown.contains("Timeline:") && shown.contains("paged"),
        "{shown}"
    );

    let out = client(&s, &["resolve", &id, "-o", "json", "--actor", "bob"]);
    let resolved: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(resolved["status"], "resolved");
    assert_eq!(resolved["resolved_by"], "bob");
    let out = client(&s, &["list"]);
    assert_eq!(text(&out.stdout), "No incidents found.\n");

    let out = client(&s, &["show", "does-not-exist"]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("404"));

    // wrong token: the CLI reports the server's answer
    let out = Command::new(BIN)
        .args(["incidents", "list", "--server", &s.url])
        .env("GUARDIAN_API_TOKEN", "wrong")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("403"), "{}", text(&out.stderr));
}

#[test]
fn serve_refuses_bad_config_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.yaml");
    std::fs::write(&path, "api:\n  listen: not-an-address\n").unwrap();
    let out = guardian(&["serve", "--config", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("api.listen"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn redact_prints_the_redacted_text_and_the_receipt() {
    use std::io::Write as _;
    let mut child = Command::new(BIN)
        .arg("redact")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"retrying postgres://app:s3cr3t-pw-4242@db:5432/orders\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let stdout = text(&out.stdout);
    assert!(
        !stdout.contains("s3cr3t-pw-4242") && stdout.contains("db:5432"),
        "{stdout}"
    );
    let receipt: Value = serde_json::from_str(text(&out.stderr).trim()).unwrap();
    assert_eq!(receipt["total"], 1);
    assert_eq!(receipt["redaction_receipt"]["url_password"], 1, "{receipt}");
}

#[test]
fn llm_usage_reports_through_the_api() {
    let s = serve();
    let out = Command::new(BIN)
        .args(["llm-usage", "--server", &s.url, "-o", "json"])
        .env("GUARDIAN_API_TOKEN", TOKEN)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let usage: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(usage["provider"], "none");
    assert_eq!(usage["totals"]["calls"], 0);
    let out = Command::new(BIN)
        .args(["llm-usage", "--server", &s.url])
        .env("GUARDIAN_API_TOKEN", TOKEN)
        .output()
        .unwrap();
    assert!(
        text(&out.stdout).starts_with("Provider: none"),
        "{}",
        text(&out.stdout)
    );
}
