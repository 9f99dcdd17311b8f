use guardian_llm::anthropic::{Anthropic, AnthropicConfig};
use guardian_llm::retry::Retrying;
use guardian_llm::{Error, InvalidKind, LlmProvider, Usage};
use secrecy::SecretString;
use serde_json::{Value, json};

use crate::common::{self, Fake, ok, status};

const KEY: &str = "sk-ant-test-0123456789";

fn message(input: Value, stop: &str) -> Value {
    json!({
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude-haiku-4-5-20251001",
        "content": [{"type": "tool_use", "id": "toolu_1", "name": "incident_analysis", "input": input}],
        "stop_reason": stop,
        "usage": {"input_tokens": 100, "cache_creation_input_tokens": 20,
                  "cache_read_input_tokens": 300, "output_tokens": 50},
    })
}

fn anthropic(fake: &Fake) -> Anthropic {
    let mut config = AnthropicConfig::new("claude-haiku-4-5", SecretString::from(KEY));
    config.base_url = fake.url.clone();
    Anthropic::new(config).unwrap()
}

#[tokio::test]
async fn forced_tool_request_and_tool_input_answer() {
    let fake = Fake::start(vec![ok(message(common::small_answer(), "tool_use"))]).await;
    let provider = anthropic(&fake);
    let response = provider.complete(&common::request()).await.unwrap();
    assert_eq!(response.value, common::small_answer());
    assert_eq!(response.model, "claude-haiku-4-5-20251001");
    assert_eq!(
        response.usage,
        Usage {
            input_tokens: 420,
            cached_input_tokens: 300,
            cache_write_tokens: 20,
            output_tokens: 50,
            reasoning_tokens: 0
        }
    );
    let sent = &fake.requests()[0];
    assert_eq!(sent.path, "/v1/messages");
    assert_eq!(sent.header("x-api-key"), Some(KEY));
    assert_eq!(sent.header("anthropic-version"), Some("2023-06-01"));
    assert_eq!(sent.body["system"], common::request().system);
    assert_eq!(sent.body["messages"][0]["content"], common::request().user);
    insta::assert_json_snapshot!("anthropic_request_body", sent.body);
}

#[tokio::test]
async fn double_encoded_tool_input_is_unwrapped() {
    let input = Value::String(common::small_answer().to_string());
    let fake = Fake::start(vec![ok(message(input, "tool_use"))]).await;
    let response = anthropic(&fake).complete(&common::request()).await.unwrap();
    assert_eq!(response.value, common::small_answer());
}

#[tokio::test]
async fn text_answer_in_a_fence_is_accepted_without_tool_use() {
    let mut body = message(Value::Null, "end_turn");
    body["content"] = json!([{"type": "text",
        "text": format!("Analysis:\n```json\n{}\n```", common::small_answer())}]);
    let fake = Fake::start(vec![ok(body)]).await;
    let response = anthropic(&fake).complete(&common::request()).await.unwrap();
    assert_eq!(response.value, common::small_answer());
}

#[tokio::test]
async fn overloaded_529_is_retryable_and_retried() {
    let overloaded = status(
        529,
        &[],
        json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}),
    );
    let fake = Fake::start(vec![
        overloaded,
        ok(message(common::small_answer(), "tool_use")),
    ])
    .await;
    let error = anthropic(&fake)
        .complete(&common::request())
        .await
        .unwrap_err();
    assert!(error.is_retryable(), "{error:?}");
    let provider = Retrying::new(anthropic(&fake), common::fast_policy());
    provider.complete(&common::request()).await.unwrap();
    assert_eq!(fake.count(), 2);
}

#[tokio::test]
async fn rate_limit_honours_retry_after() {
    let limited = status(
        429,
        &[("retry-after", "7")],
        json!({"type": "error", "error": {"type": "rate_limit_error", "message": "Number of request tokens has exceeded your per-minute rate limit"}}),
    );
    let fake = Fake::start(vec![
        limited,
        ok(message(common::small_answer(), "tool_use")),
    ])
    .await;
    let (sleeper, delays) = common::recording_sleeper();
    let provider = Retrying::new(anthropic(&fake), common::fast_policy()).with_sleeper(sleeper);
    provider.complete(&common::request()).await.unwrap();
    assert_eq!(*delays.lock().unwrap(), [std::time::Duration::from_secs(7)]);
}

#[tokio::test]
async fn auth_and_spend_limit_are_fatal() {
    for (code, kind, message) in [
        (401, "authentication_error", "invalid x-api-key"),
        (
            400,
            "invalid_request_error",
            "Your credit balance is too low to access the Anthropic API.",
        ),
        (
            413,
            "request_too_large",
            "Request exceeds the maximum allowed number of bytes.",
        ),
    ] {
        let fake = Fake::start(vec![status(
            code,
            &[],
            json!({"type": "error", "error": {"type": kind, "message": message}}),
        )])
        .await;
        let provider = Retrying::new(anthropic(&fake), common::fast_policy());
        let error = provider.complete(&common::request()).await.unwrap_err();
        assert!(matches!(error, Error::Fatal { .. }), "{code}: {error:?}");
        assert_eq!(fake.count(), 1);
    }
}

#[tokio::test]
async fn max_tokens_and_refusal_are_invalid_output() {
    for (stop, want) in [
        ("max_tokens", InvalidKind::Truncated),
        ("refusal", InvalidKind::Refused),
    ] {
        let fake = Fake::start(vec![ok(message(json!({"summary": "api"}), stop))]).await;
        let error = anthropic(&fake)
            .complete(&common::request())
            .await
            .unwrap_err();
        match error {
            Error::InvalidOutput { kind, usage, .. } => {
                assert_eq!(kind, want, "{stop}");
                assert_eq!(usage.output_tokens, 50);
            }
            other => panic!("{stop}: {other:?}"),
        }
    }
}
