//! Answer extraction tolerant of the known quirks (design note §1, "Tolerate known quirks"):
//!
//! 1. plain JSON (the normal case under constrained decoding);
//! 2. JSON double-encoded as a JSON string (seen from Anthropic tool inputs);
//! 3. a whole-response ```` ```json ```` fence;
//! 4. a fenced block among prose (seen from Bedrock models);
//! 5. last resort: the outermost `{…}` span of the text.
//!
//! Only objects and arrays count as answers: a bare string or number is never what a schema
//! with an object root asked for.

use serde_json::Value;

/// Extracts the JSON answer from a model's text. The error says why nothing was found.
pub fn json_answer(text: &str) -> Result<Value, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("the answer is empty".into());
    }
    if let Some(v) = parse_structured(text) {
        return Ok(v);
    }
    if let Some(inner) = whole_fence(text)
        && let Some(v) = parse_structured(inner)
    {
        return Ok(v);
    }
    for block in fenced_blocks(text) {
        if let Some(v) = parse_structured(block) {
            return Ok(v);
        }
    }
    if let (Some(start), Some(end)) = (text.find('{'), text.rfind('}'))
        && start < end
        && let Some(v) = parse_structured(&text[start..=end])
    {
        return Ok(v);
    }
    // serde's message for the whole text says where parsing stopped (line/column).
    match serde_json::from_str::<Value>(text) {
        Err(e) => Err(format!("the answer is not JSON: {e}")),
        Ok(_) => Err("the answer is JSON but neither an object nor an array".into()),
    }
}

/// Normalises a value that may be double-encoded (a string holding JSON).
pub fn unwrap_double_encoded(value: Value) -> Value {
    match &value {
        Value::String(s) => parse_structured(s.trim()).unwrap_or(value),
        _ => value,
    }
}

/// Parses an object or array, unwrapping one level of string encoding.
fn parse_structured(text: &str) -> Option<Value> {
    match serde_json::from_str::<Value>(text).ok()? {
        v @ (Value::Object(_) | Value::Array(_)) => Some(v),
        Value::String(inner) => match serde_json::from_str::<Value>(inner.trim()).ok()? {
            v @ (Value::Object(_) | Value::Array(_)) => Some(v),
            _ => None,
        },
        _ => None,
    }
}

/// The inside of a fence that spans the whole text (```` ```json … ``` ````).
fn whole_fence(text: &str) -> Option<&str> {
    let rest = text.strip_prefix("```")?;
    let rest = rest.strip_suffix("```")?;
    // Drop the info string (`json`, `JSON`, nothing) up to the first newline.
    let body = rest.split_once('\n').map_or(rest, |(_, b)| b);
    Some(body.trim())
}

/// The bodies of every fenced block in the text, in order.
fn fenced_blocks(text: &str) -> Vec<&str> {
    let mut blocks = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find("```") {
        let after_open = &rest[open + 3..];
        let Some(newline) = after_open.find('\n') else {
            break;
        };
        let body = &after_open[newline + 1..];
        let Some(close) = body.find("```") else {
            break;
        };
        blocks.push(body[..close].trim());
        rest = &body[close + 3..];
    }
    blocks
}

/// The end every text-answer provider (OpenAI-compatible, Ollama) shares once stop reasons are
/// checked: no content is [`InvalidKind::Empty`], unparseable content [`InvalidKind::Parse`]
/// (keeping the text for the repair re-ask), anything else the parsed [`Response`].
pub(crate) fn text_response(
    content: Option<String>,
    usage: crate::Usage,
    model: &str,
    latency: std::time::Duration,
) -> Result<crate::Response, crate::Error> {
    use crate::{Error, InvalidKind};
    let Some(raw) = content else {
        return Err(
            Error::invalid(InvalidKind::Empty, "the response holds no message content")
                .with_answer(None, usage),
        );
    };
    let value = json_answer(&raw)
        .map_err(|e| Error::invalid(InvalidKind::Parse, e).with_answer(Some(raw.clone()), usage))?;
    Ok(crate::Response {
        value,
        raw,
        usage,
        model: model.to_owned(),
        latency,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn each_quirk_is_tolerated() {
        let want = json!({"a": 1});
        assert_eq!(json_answer(r#" {"a":1} "#), Ok(want.clone()));
        assert_eq!(json_answer(r#""{\"a\":1}""#), Ok(want.clone()));
        assert_eq!(json_answer("```json\n{\"a\":1}\n```"), Ok(want.clone()));
        assert_eq!(json_answer("```\n{\"a\":1}\n```"), Ok(want.clone()));
        assert_eq!(
            json_answer("Here it is:\n```json\n{\"a\":1}\n```\nHope it helps."),
            Ok(want.clone())
        );
        assert_eq!(
            json_answer("Sure! {\"a\":1} is the answer"),
            Ok(want.clone())
        );
        assert_eq!(unwrap_double_encoded(json!("{\"a\":1}")), want);
    }

    #[test]
    fn non_answers_are_errors() {
        assert!(json_answer("").is_err());
        assert!(json_answer("42").is_err());
        assert!(json_answer("{\"a\": ").unwrap_err().contains("not JSON"));
        assert!(json_answer("``` unterminated").is_err());
    }
}
