use std::time::{Duration, Instant};

use guardian_llm::openai::{OpenAiCompatible, OpenAiConfig, ResponseFormat};
use guardian_llm::retry::{RetryPolicy, Retrying};
use guardian_llm::{Error, InvalidKind, LlmProvider, Usage};
use secrecy::SecretString;
use serde_json::{Value, json};

use crate::common::{self, Fake, Reply, ok, status};

const KEY: &str = "sk-test-0123456789abcdef";

fn completion(content: &str, finish: &str) -> Value {
    json!({
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "model": "gpt-4o-mini-2024-07-18",
        "choices": [{"index": 0, "finish_reason": finish,
                     "message": {"role": "assistant", "content": content, "refusal": null}}],
        "usage": {"prompt_tokens": 120, "completion_tokens": 40, "total_tokens": 160,
                  "prompt_tokens_details": {"cached_tokens": 64},
                  "completion_tokens_details": {"reasoning_tokens": 8}},
    })
}

fn answer() -> Value {
    completion(&common::small_answer().to_string(), "stop")
}

fn openai(fake: &Fake) -> OpenAiCompatible {
    let mut config = OpenAiConfig::openai("gpt-4o-mini", SecretString::from(KEY));
    config.base_url = format!("{}/v1", fake.url);
    OpenAiCompatible::new(config).unwrap()
}

async fn fake(script: Vec<Reply>) -> Fake {
    Fake::start(script).await
}

#[tokio::test]
async fn request_body_carries_strict_schema_and_prompt_as_given() {
    let fake = fake(vec![ok(answer())]).await;
    let provider = openai(&fake);
    let response = provider.complete(&common::request()).await.unwrap();
    assert_eq!(response.value, common::small_answer());
    assert_eq!(response.model, "gpt-4o-mini-2024-07-18");
    assert_eq!(
        response.usage,
        Usage {
            input_tokens: 120,
            cached_input_tokens: 64,
            cache_write_tokens: 0,
            output_tokens: 40,
            reasoning_tokens: 8
        }
    );
    let sent = &fake.requests()[0];
    assert_eq!(sent.method, "POST");
    assert_eq!(sent.path, "/v1/chat/completions");
    assert_eq!(
        sent.header("authorization"),
        Some(&*format!("Bearer {KEY}"))
    );
    assert_eq!(sent.body, provider.body(&common::request()));
    assert_eq!(sent.body["messages"][1]["content"], common::request().user);
    insta::assert_json_snapshot!("openai_request_body", sent.body);
}

#[tokio::test]
async fn local_server_form_uses_json_object_and_describes_the_schema() {
    let fake = fake(vec![ok(answer())]).await;
    let mut config = OpenAiConfig::local("llama-cpp", format!("{}/v1", fake.url), "smollm2");
    config.response_format = ResponseFormat::JsonObject;
    let provider = OpenAiCompatible::new(config).unwrap();
    provider.complete(&common::request()).await.unwrap();
    let sent = &fake.requests()[0];
    assert_eq!(sent.header("authorization"), None);
    insta::assert_json_snapshot!("openai_local_request_body", sent.body);
}

#[tokio::test]
async fn azure_sends_api_key_header_and_version() {
    let fake = fake(vec![ok(answer())]).await;
    let config = OpenAiConfig::azure(
        &fake.url,
        "gpt4o-prod",
        "2024-10-21",
        SecretString::from(KEY),
    );
    OpenAiCompatible::new(config)
        .unwrap()
        .complete(&common::request())
        .await
        .unwrap();
    let sent = &fake.requests()[0];
    assert_eq!(sent.path, "/openai/deployments/gpt4o-prod/chat/completions");
    assert_eq!(sent.query.as_deref(), Some("api-version=2024-10-21"));
    assert_eq!(sent.header("api-key"), Some(KEY));
    assert_eq!(sent.header("authorization"), None);
    assert!(sent.body.get("max_completion_tokens").is_some());
}

#[tokio::test]
async fn rate_limit_429_is_retried_after_retry_after() {
    let limited = status(
        429,
        &[("retry-after", "1")],
        json!({"error": {"message": "Rate limit reached", "type": "requests", "code": "rate_limit_exceeded"}}),
    );
    let fake = fake(vec![limited, ok(answer())]).await;
    let provider = Retrying::new(openai(&fake), common::fast_policy());
    let started = Instant::now();
    let response = provider.complete(&common::request()).await.unwrap();
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(response.value, common::small_answer());
    assert_eq!(fake.count(), 2);
}

#[tokio::test]
async fn server_error_500_is_retried() {
    let fake = fake(vec![
        status(
            500,
            &[],
            json!({"error": {"message": "boom", "type": "server_error", "code": null}}),
        ),
        ok(answer()),
    ])
    .await;
    let provider = Retrying::new(openai(&fake), common::fast_policy());
    provider.complete(&common::request()).await.unwrap();
    assert_eq!(fake.count(), 2);
}

#[tokio::test]
async fn retries_stop_after_the_limit() {
    let fake = fake(vec![status(
        503,
        &[],
        json!({"error": {"message": "overloaded"}}),
    )])
    .await;
    let (sleeper, delays) = common::recording_sleeper();
    let provider = Retrying::new(openai(&fake), common::fast_policy()).with_sleeper(sleeper);
    let error = provider.complete(&common::request()).await.unwrap_err();
    assert!(error.is_retryable(), "{error}");
    assert_eq!(fake.count(), 3, "first call + 2 retries");
    assert_eq!(delays.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn a_server_that_never_answers_times_out_as_retryable() {
    let fake = fake(vec![Reply::Hang]).await;
    let mut config = OpenAiConfig::openai("gpt-4o-mini", SecretString::from(KEY));
    config.base_url = format!("{}/v1", fake.url);
    config.timeout = Duration::from_millis(300);
    let started = Instant::now();
    let error = OpenAiCompatible::new(config)
        .unwrap()
        .complete(&common::request())
        .await
        .unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(5));
    match &error {
        Error::Retryable { reason, .. } => assert!(reason.contains("timed out"), "{reason}"),
        other => panic!("expected retryable, got {other:?}"),
    }
    assert_eq!(error.metric_label(), "retryable");
}

#[tokio::test]
async fn unauthorized_is_fatal_after_one_request_and_hides_the_key() {
    // The server echoes the key, as some gateways do: the reason must not carry it.
    let fake = fake(vec![status(
        401,
        &[],
        json!({"error": {"message": format!("Incorrect API key provided: {KEY}"), "type": "invalid_request_error", "code": "invalid_api_key"}}),
    )])
    .await;
    let provider = Retrying::new(openai(&fake), common::fast_policy());
    let error = provider.complete(&common::request()).await.unwrap_err();
    assert_eq!(fake.count(), 1);
    assert!(matches!(error, Error::Fatal { .. }), "{error:?}");
    assert!(!format!("{error} {error:?}").contains(KEY));
    assert_eq!(error.metric_label(), "fatal");
}

#[tokio::test]
async fn insufficient_quota_429_is_fatal_without_retry() {
    let fake = fake(vec![status(
        429,
        &[("retry-after", "1")],
        json!({"error": {"message": "You exceeded your current quota", "type": "insufficient_quota", "code": "insufficient_quota"}}),
    )])
    .await;
    let provider = Retrying::new(openai(&fake), common::fast_policy());
    let error = provider.complete(&common::request()).await.unwrap_err();
    assert_eq!(fake.count(), 1);
    assert!(matches!(error, Error::Fatal { .. }), "{error:?}");
}

#[tokio::test]
async fn bad_request_400_is_fatal() {
    let fake = fake(vec![status(
        400,
        &[],
        json!({"error": {"message": "Invalid schema for response_format", "type": "invalid_request_error", "code": null}}),
    )])
    .await;
    let provider = Retrying::new(openai(&fake), RetryPolicy::default());
    let error = provider.complete(&common::request()).await.unwrap_err();
    assert_eq!(fake.count(), 1);
    assert!(matches!(error, Error::Fatal { .. }), "{error:?}");
}

#[tokio::test]
async fn length_finish_is_truncation() {
    let fake = fake(vec![ok(completion("{\"summary\": \"api is", "length"))]).await;
    let error = openai(&fake)
        .complete(&common::request())
        .await
        .unwrap_err();
    match &error {
        Error::InvalidOutput {
            kind, usage, raw, ..
        } => {
            assert_eq!(*kind, InvalidKind::Truncated);
            assert_eq!(
                usage.output_tokens, 40,
                "a truncated answer is still billed"
            );
            assert_eq!(raw.as_deref(), Some("{\"summary\": \"api is"));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(error.metric_label(), "truncated");
}

#[tokio::test]
async fn refusal_is_invalid_output() {
    let mut body = completion("", "stop");
    body["choices"][0]["message"]["content"] = Value::Null;
    body["choices"][0]["message"]["refusal"] = json!("I can't help with that.");
    let fake = fake(vec![ok(body)]).await;
    let error = openai(&fake)
        .complete(&common::request())
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            Error::InvalidOutput {
                kind: InvalidKind::Refused,
                ..
            }
        ),
        "{error:?}"
    );
}

#[tokio::test]
async fn fenced_and_double_encoded_answers_are_extracted() {
    let answer = common::small_answer().to_string();
    let fenced = format!("```json\n{answer}\n```");
    let prose = format!("Here is the analysis:\n```json\n{answer}\n```\nLet me know.");
    let double = Value::String(answer.clone()).to_string();
    for content in [fenced, prose, double] {
        let fake = fake(vec![ok(completion(&content, "stop"))]).await;
        let response = openai(&fake).complete(&common::request()).await.unwrap();
        assert_eq!(response.value, common::small_answer(), "{content}");
        assert_eq!(response.raw, content);
    }
}

#[tokio::test]
async fn prose_without_json_is_a_parse_error_with_the_raw_answer() {
    let fake = fake(vec![ok(completion("The pod ran out of memory.", "stop"))]).await;
    let error = openai(&fake)
        .complete(&common::request())
        .await
        .unwrap_err();
    match error {
        Error::InvalidOutput { kind, raw, .. } => {
            assert_eq!(kind, InvalidKind::Parse);
            assert_eq!(raw.as_deref(), Some("The pod ran out of memory."));
        }
        other => panic!("{other:?}"),
    }
}
