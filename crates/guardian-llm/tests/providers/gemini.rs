use std::time::Duration;

use guardian_llm::gemini::{Gemini, GeminiConfig};
use guardian_llm::retry::Retrying;
use guardian_llm::{Error, InvalidKind, LlmProvider, Usage};
use secrecy::SecretString;
use serde_json::{Value, json};

use crate::common::{self, Fake, ok, status};

const KEY: &str = "AIzaSyTest0123456789";

fn generated(text: &str, finish: &str) -> Value {
    json!({
        "candidates": [{"content": {"role": "model", "parts": [
            {"text": "thinking about it", "thought": true},
            {"text": text},
        ]}, "finishReason": finish, "index": 0}],
        "usageMetadata": {"promptTokenCount": 200, "cachedContentTokenCount": 50,
                          "candidatesTokenCount": 60, "thoughtsTokenCount": 25, "totalTokenCount": 285},
        "modelVersion": "gemini-2.5-flash",
    })
}

fn gemini(fake: &Fake) -> Gemini {
    let mut config = GeminiConfig::new("gemini-2.5-flash", SecretString::from(KEY));
    config.base_url = fake.url.clone();
    Gemini::new(config).unwrap()
}

fn resource_exhausted(details: Value) -> crate::common::Reply {
    status(
        429,
        &[],
        json!({"error": {"code": 429, "status": "RESOURCE_EXHAUSTED",
                          "message": "You exceeded your current quota.", "details": details}}),
    )
}

#[tokio::test]
async fn request_body_and_answer() {
    let fake = Fake::start(vec![ok(generated(
        &common::small_answer().to_string(),
        "STOP",
    ))])
    .await;
    let provider = gemini(&fake);
    let response = provider.complete(&common::request()).await.unwrap();
    assert_eq!(response.value, common::small_answer());
    assert_eq!(
        response.usage,
        Usage {
            input_tokens: 200,
            cached_input_tokens: 50,
            cache_write_tokens: 0,
            output_tokens: 85,
            reasoning_tokens: 25
        }
    );
    let sent = &fake.requests()[0];
    assert_eq!(sent.path, "/v1beta/models/gemini-2.5-flash:generateContent");
    assert_eq!(sent.header("x-goog-api-key"), Some(KEY));
    assert_eq!(sent.query, None, "the key never goes in the URL");
    insta::assert_json_snapshot!("gemini_request_body", sent.body);
}

#[tokio::test]
async fn retry_info_delay_is_honoured() {
    let per_minute = resource_exhausted(json!([
        {"@type": "type.googleapis.com/google.rpc.QuotaFailure",
         "violations": [{"quotaMetric": "generativelanguage.googleapis.com/generate_content_free_tier_requests",
                         "quotaId": "GenerateRequestsPerMinutePerProjectPerModel-FreeTier"}]},
        {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "22s"},
    ]));
    let fake = Fake::start(vec![
        per_minute,
        ok(generated(&common::small_answer().to_string(), "STOP")),
    ])
    .await;
    let (sleeper, delays) = common::recording_sleeper();
    let provider = Retrying::new(gemini(&fake), common::fast_policy()).with_sleeper(sleeper);
    provider.complete(&common::request()).await.unwrap();
    assert_eq!(*delays.lock().unwrap(), [Duration::from_secs(22)]);
    assert_eq!(fake.count(), 2);
}

#[tokio::test]
async fn retry_info_is_honoured_in_real_time() {
    let limited = resource_exhausted(json!([
        {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "1s"},
    ]));
    let fake = Fake::start(vec![
        limited,
        ok(generated(&common::small_answer().to_string(), "STOP")),
    ])
    .await;
    let provider = Retrying::new(gemini(&fake), common::fast_policy());
    let started = std::time::Instant::now();
    provider.complete(&common::request()).await.unwrap();
    assert!(started.elapsed() >= Duration::from_secs(1));
}

#[tokio::test]
async fn per_day_quota_failure_is_fatal() {
    let per_day = resource_exhausted(json!([
        {"@type": "type.googleapis.com/google.rpc.QuotaFailure",
         "violations": [{"quotaId": "GenerateRequestsPerDayPerProjectPerModel-FreeTier"}]},
        {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "3s"},
    ]));
    let fake = Fake::start(vec![per_day]).await;
    let provider = Retrying::new(gemini(&fake), common::fast_policy());
    let error = provider.complete(&common::request()).await.unwrap_err();
    assert_eq!(fake.count(), 1);
    match error {
        Error::Fatal { reason } => assert!(reason.contains("PerDay"), "{reason}"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn stop_reasons_map_to_their_errors() {
    for (finish, want) in [
        ("MAX_TOKENS", InvalidKind::Truncated),
        ("SAFETY", InvalidKind::Safety),
        ("RECITATION", InvalidKind::Safety),
    ] {
        let fake = Fake::start(vec![ok(generated("{\"summary\": \"a", finish))]).await;
        let error = gemini(&fake)
            .complete(&common::request())
            .await
            .unwrap_err();
        assert!(
            matches!(&error, Error::InvalidOutput { kind, .. } if *kind == want),
            "{finish}: {error:?}"
        );
    }
    let blocked = json!({"promptFeedback": {"blockReason": "SAFETY"}, "usageMetadata": {"promptTokenCount": 10}});
    let fake = Fake::start(vec![ok(blocked)]).await;
    let error = gemini(&fake)
        .complete(&common::request())
        .await
        .unwrap_err();
    assert_eq!(error.metric_label(), "safety");
}

#[tokio::test]
async fn unavailable_503_is_retryable() {
    let fake = Fake::start(vec![status(
        503,
        &[],
        json!({"error": {"code": 503, "status": "UNAVAILABLE", "message": "The model is overloaded."}}),
    )])
    .await;
    let error = gemini(&fake)
        .complete(&common::request())
        .await
        .unwrap_err();
    assert!(error.is_retryable());
}
