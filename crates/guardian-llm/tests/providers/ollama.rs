use guardian_llm::ollama::{Ollama, OllamaConfig};
use guardian_llm::retry::Retrying;
use guardian_llm::{Error, InvalidKind, LlmProvider, Usage};
use serde_json::{Value, json};

use crate::common::{self, Fake, ok, status};

fn chat(content: &str, done_reason: &str) -> Value {
    json!({
        "model": "qwen2.5:3b",
        "created_at": "2026-01-12T10:00:00Z",
        "message": {"role": "assistant", "content": content},
        "done": true,
        "done_reason": done_reason,
        "total_duration": 1_200_000_000u64,
        "prompt_eval_count": 310,
        "eval_count": 90,
    })
}

fn ollama(fake: &Fake) -> Ollama {
    let mut config = OllamaConfig::new("qwen2.5:3b");
    config.base_url = fake.url.clone();
    Ollama::new(config).unwrap()
}

#[tokio::test]
async fn request_body_carries_format_and_schema_in_prompt() {
    let fake = Fake::start(vec![ok(chat(&common::small_answer().to_string(), "stop"))]).await;
    let response = ollama(&fake).complete(&common::request()).await.unwrap();
    assert_eq!(response.value, common::small_answer());
    assert_eq!(
        response.usage,
        Usage {
            input_tokens: 310,
            output_tokens: 90,
            ..Usage::default()
        }
    );
    let sent = &fake.requests()[0];
    assert_eq!(sent.path, "/api/chat");
    assert_eq!(sent.body["stream"], false);
    assert_eq!(sent.body["messages"][1]["content"], common::request().user);
    let system = sent.body["messages"][0]["content"].as_str().unwrap();
    assert!(system.starts_with(&common::request().system));
    assert!(system.contains("\"additionalProperties\":false"));
    insta::assert_json_snapshot!("ollama_request_body", sent.body);
}

#[tokio::test]
async fn queue_full_503_is_retried() {
    let fake = Fake::start(vec![
        status(
            503,
            &[],
            json!({"error": "server busy, please try again.  maximum pending requests exceeded"}),
        ),
        ok(chat(&common::small_answer().to_string(), "stop")),
    ])
    .await;
    let provider = Retrying::new(ollama(&fake), common::fast_policy());
    provider.complete(&common::request()).await.unwrap();
    assert_eq!(fake.count(), 2);
}

#[tokio::test]
async fn unknown_model_is_fatal() {
    let fake = Fake::start(vec![status(
        404,
        &[],
        json!({"error": "model \"qwen2.5:3b\" not found, try pulling it first"}),
    )])
    .await;
    let provider = Retrying::new(ollama(&fake), common::fast_policy());
    let error = provider.complete(&common::request()).await.unwrap_err();
    assert_eq!(fake.count(), 1);
    match error {
        Error::Fatal { reason } => assert!(reason.contains("not found"), "{reason}"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn length_is_truncation() {
    let fake = Fake::start(vec![ok(chat("{\"summary\": \"a", "length"))]).await;
    let error = ollama(&fake)
        .complete(&common::request())
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            Error::InvalidOutput {
                kind: InvalidKind::Truncated,
                ..
            }
        ),
        "{error:?}"
    );
}
