//! The analysis schema as each provider receives it, and local validation of answers.

use guardian_core::analysis::{Analysis, schema};
use guardian_llm::schema::{Validator, for_anthropic, for_gemini, strictify};
use serde_json::{Value, json};

fn sample() -> Value {
    json!({
        "summary": "api is OOM-killed",
        "category": "oom_killed",
        "severity": "critical",
        "hypotheses": [{"cause": "memory limit too low", "category": "oom_killed",
                        "confidence": 0.8, "evidence": ["E1"]}],
        "recommended_actions": [{"action": "raise the memory limit", "command": null, "risk": "low"}],
        "confidence": 0.8,
        "needs_human_review": false,
        "missing_evidence": [],
    })
}

/// Every object closed and fully required: the strict-mode invariants, checked on the tree.
fn assert_strict(node: &Value, path: &str) {
    match node {
        Value::Object(map) => {
            if let Some(Value::Object(props)) = map.get("properties") {
                assert_eq!(
                    map.get("additionalProperties"),
                    Some(&json!(false)),
                    "{path}"
                );
                let mut required: Vec<&str> = map["required"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_str().unwrap())
                    .collect();
                required.sort_unstable();
                let keys: Vec<&str> = props.keys().map(String::as_str).collect();
                assert_eq!(required, keys, "every property required at {path}");
            }
            for banned in [
                "oneOf",
                "allOf",
                "not",
                "$schema",
                "title",
                "minLength",
                "if",
            ] {
                assert!(!map.contains_key(banned), "{banned} at {path}");
            }
            if let Some(Value::String(f)) = map.get("format") {
                assert_ne!(f, "double", "{path}");
            }
            if map.contains_key("$ref") {
                assert_eq!(map.len(), 1, "$ref with siblings at {path}");
            }
            for (k, v) in map {
                assert_strict(v, &format!("{path}/{k}"));
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                assert_strict(v, &format!("{path}/{i}"));
            }
        }
        _ => {}
    }
}

#[test]
fn openai_and_ollama_strict_analysis_schema() {
    let strict = strictify(&schema());
    assert_strict(&strict, "");
    insta::assert_json_snapshot!("analysis_schema_openai", strict);
}

#[test]
fn anthropic_analysis_schema() {
    let s = for_anthropic(&schema());
    assert_strict(&s, "");
    assert!(!s.to_string().contains("$ref"));
    insta::assert_json_snapshot!("analysis_schema_anthropic", s);
}

#[test]
fn gemini_analysis_schema() {
    let s = for_gemini(&schema());
    assert_strict(&s, "");
    assert!(!s.to_string().contains("$ref"));
    insta::assert_json_snapshot!("analysis_schema_gemini", s);
}

#[test]
fn every_form_accepts_a_valid_analysis_and_rejects_a_bad_one() {
    let good = sample();
    let _: Analysis = serde_json::from_value(good.clone()).unwrap();
    let mut bad = good.clone();
    bad["category"] = json!("gremlins");
    bad["extra"] = json!(1);
    for (name, form) in [
        ("original", schema()),
        ("openai", strictify(&schema())),
        ("anthropic", for_anthropic(&schema())),
        ("gemini", for_gemini(&schema())),
    ] {
        let v = Validator::new(&form).unwrap();
        assert_eq!(v.validate(&good), Vec::<String>::new(), "{name}");
        let errors = v.validate(&bad);
        assert!(
            errors.iter().any(|e| e.starts_with("/category: ")),
            "{name}: {errors:?}"
        );
        assert!(
            errors.iter().any(|e| e.contains("extra")),
            "{name}: {errors:?}"
        );
    }
}
