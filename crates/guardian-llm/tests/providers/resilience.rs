//! Repair re-ask, call records and the rate limiter, over the OpenAI-compatible fake.

use std::num::NonZeroU32;

use guardian_llm::limit::RateLimited;
use guardian_llm::openai::{OpenAiCompatible, OpenAiConfig};
use guardian_llm::schema::Validator;
use guardian_llm::structured::complete_validated;
use guardian_llm::{Error, InvalidKind, LlmProvider};
use serde_json::{Value, json};

use crate::common::{self, Fake, ok};

fn completion(content: &str) -> Value {
    json!({
        "model": "smollm2",
        "choices": [{"index": 0, "finish_reason": "stop",
                     "message": {"role": "assistant", "content": content}}],
        "usage": {"prompt_tokens": 100, "completion_tokens": 30},
    })
}

fn provider(fake: &Fake) -> OpenAiCompatible {
    OpenAiCompatible::new(OpenAiConfig::local(
        "llama-cpp",
        format!("{}/v1", fake.url),
        "smollm2",
    ))
    .unwrap()
}

fn validator() -> Validator {
    Validator::new(&common::small_schema()).unwrap()
}

#[tokio::test]
async fn invalid_json_gets_one_repair_then_succeeds() {
    let fake = Fake::start(vec![
        ok(completion(
            "{\"summary\": \"api is OOM-killed\", \"risk\": ",
        )),
        ok(completion(&common::small_answer().to_string())),
    ])
    .await;
    let v = validator();
    let outcome = complete_validated(&provider(&fake), &common::request(), |x| v.validate(x))
        .await
        .unwrap();
    assert_eq!(outcome.value, common::small_answer());
    let outcomes: Vec<_> = outcome.calls.iter().map(|c| c.outcome).collect();
    assert_eq!(outcomes, ["invalid_json", "ok"]);
    // A parse failure carries the tokens it cost.
    assert_eq!(outcome.calls[0].usage.input_tokens, 100);

    let sent = fake.requests();
    assert_eq!(sent.len(), 2);
    let repair = sent[1].body["messages"][1]["content"].as_str().unwrap();
    assert!(repair.starts_with(&common::request().user), "{repair}");
    assert!(repair.contains("Your previous answer was invalid."));
    assert!(
        repair.contains("{\"summary\": \"api is OOM-killed\", \"risk\": "),
        "{repair}"
    );
    assert!(repair.contains("not JSON"), "{repair}");
    // The system prompt and schema are unchanged.
    assert_eq!(sent[0].body["messages"][0], sent[1].body["messages"][0]);
    assert_eq!(
        sent[0].body["response_format"],
        sent[1].body["response_format"]
    );
}

#[tokio::test]
async fn schema_violation_repair_carries_the_validation_errors() {
    let bad = json!({"summary": "api", "risk": "medium", "confidence": "high", "command": null});
    let fake = Fake::start(vec![
        ok(completion(&bad.to_string())),
        ok(completion(&common::small_answer().to_string())),
    ])
    .await;
    let v = validator();
    let outcome = complete_validated(&provider(&fake), &common::request(), |x| v.validate(x))
        .await
        .unwrap();
    assert_eq!(outcome.calls.len(), 2);
    assert_eq!(outcome.calls[0].outcome, "invalid_schema");
    let repair = fake.requests()[1].body["messages"][1]["content"]
        .as_str()
        .unwrap()
        .to_owned();
    for expected in v.validate(&bad) {
        assert!(
            repair.contains(&expected),
            "missing {expected:?} in {repair}"
        );
    }
    assert!(repair.contains("/risk: "), "{repair}");
    assert!(repair.contains("/confidence: "), "{repair}");
}

#[tokio::test]
async fn invalid_twice_gives_up_with_two_records() {
    let bad = json!({"summary": "api"});
    let fake = Fake::start(vec![ok(completion(&bad.to_string()))]).await;
    let v = validator();
    let failed = complete_validated(&provider(&fake), &common::request(), |x| v.validate(x))
        .await
        .unwrap_err();
    assert_eq!(fake.count(), 2, "exactly one repair re-ask");
    assert_eq!(failed.calls.len(), 2);
    assert!(failed.calls.iter().all(|c| c.outcome == "invalid_schema"));
    assert!(
        failed
            .calls
            .iter()
            .all(|c| c.provider == "llama-cpp" && c.model == "smollm2")
    );
    match failed.error {
        Error::InvalidOutput { kind, reason, .. } => {
            assert_eq!(kind, InvalidKind::Schema);
            assert!(reason.contains("repair"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn fatal_errors_are_not_repaired_but_recorded() {
    let fake = Fake::start(vec![common::status(
        400,
        &[],
        json!({"error": {"message": "bad", "type": "invalid_request_error"}}),
    )])
    .await;
    let failed = complete_validated(&provider(&fake), &common::request(), |_| vec![])
        .await
        .unwrap_err();
    assert_eq!(fake.count(), 1);
    assert_eq!(failed.calls.len(), 1);
    assert_eq!(failed.calls[0].outcome, "fatal");
}

#[tokio::test]
async fn rate_limiter_refuses_the_third_call_at_two_per_minute() {
    let fake = Fake::start(vec![ok(completion(&common::small_answer().to_string()))]).await;
    let limited = RateLimited::new(provider(&fake), NonZeroU32::new(2).unwrap());
    limited.complete(&common::request()).await.unwrap();
    limited.complete(&common::request()).await.unwrap();
    let error = limited.complete(&common::request()).await.unwrap_err();
    match error {
        Error::Retryable {
            after: Some(after), ..
        } => {
            assert!(after > std::time::Duration::from_secs(20), "{after:?}");
            assert!(after <= std::time::Duration::from_secs(30), "{after:?}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(fake.count(), 2, "a refused call never reaches the server");
    assert_eq!(limited.name(), "llama-cpp");
}
