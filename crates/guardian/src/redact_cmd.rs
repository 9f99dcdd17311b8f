//! `guardian redact [FILE]`: prints what would leave the process — the redacted text on stdout,
//! the receipt (categories and counts, never values) on stderr.
//!
//! JSON input gets the structural pass (Secret data, env values, command/args,
//! `last-applied-configuration`, kubeconfig credentials) and is printed as JSON; a YAML object or
//! stream likewise, printed as YAML; anything else is redacted as text.

use std::io::{IsTerminal, Read};
use std::path::Path;
use std::process::ExitCode;

use guardian_core::redact::Redactor;
use serde_json::Value;

/// What the input was, and its redacted form.
pub fn redact(redactor: &Redactor, input: &str) -> (String, guardian_core::redact::Receipt) {
    let mut session = redactor.session();
    let trimmed = input.trim_start();
    let output = if (trimmed.starts_with('{') || trimmed.starts_with('['))
        && let Ok(value) = serde_json::from_str::<Value>(input)
    {
        let mut text = serde_json::to_string_pretty(&session.json(&value)).unwrap_or_default();
        text.push('\n');
        text
    } else if let Some(docs) = yaml_objects(input) {
        docs.iter()
            .map(|doc| yaml_serde::to_string(&session.json(doc)).unwrap_or_default())
            .collect::<Vec<_>>()
            .join("---\n")
    } else {
        session.text(input)
    };
    (output, session.into_receipt())
}

/// The documents of a YAML stream when every one is a mapping (plain text also parses as YAML,
/// as a single string: that is text, not YAML).
fn yaml_objects(input: &str) -> Option<Vec<Value>> {
    let mut docs = Vec::new();
    for doc in yaml_serde::Deserializer::from_str(input) {
        let value: Value = serde::Deserialize::deserialize(doc).ok()?;
        match value {
            Value::Object(_) => docs.push(value),
            Value::Null => {}
            _ => return None,
        }
    }
    (!docs.is_empty()).then_some(docs)
}

/// Runs the command.
pub fn run(file: Option<&Path>) -> ExitCode {
    let mut input = String::new();
    let read = match file {
        Some(path) => std::fs::read_to_string(path).map(|t| input = t),
        None => {
            if std::io::stdin().is_terminal() {
                eprintln!("Reading from standard input; end with Ctrl-D.");
            }
            std::io::stdin().read_to_string(&mut input).map(|_| ())
        }
    };
    if let Err(error) = read {
        let what = file.map_or("standard input".to_string(), |p| p.display().to_string());
        eprintln!("error: unable to read {what}: {error}");
        return ExitCode::FAILURE;
    }
    let (output, receipt) = redact(&Redactor::default(), &input);
    print!("{output}");
    let receipt = serde_json::json!({"redaction_receipt": receipt, "total": receipt.total()});
    eprintln!("{receipt}");
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_json_and_yaml_are_redacted_by_shape() {
        let r = Redactor::default();
        let (out, receipt) = redact(&r, "connecting to postgres://app:hunter2@db:5432/app\n");
        assert!(!out.contains("hunter2") && receipt.total() >= 1, "{out}");

        let json = r#"{"kind":"Pod","spec":{"containers":[{"name":"a","env":[{"name":"API_TOKEN","value":"abcdefgh12345678"}]}]}}"#;
        let (out, receipt) = redact(&r, json);
        assert!(!out.contains("abcdefgh12345678"), "{out}");
        assert!(out.trim_start().starts_with('{'));
        assert!(receipt.total() >= 1);

        let yaml = "kind: Secret\napiVersion: v1\nmetadata:\n  name: db\nstringData:\n  password: supersecretvalue\n";
        let (out, _) = redact(&r, yaml);
        assert!(!out.contains("supersecretvalue"), "{out}");
        assert!(out.contains("kind: Secret"), "{out}");
    }
}
