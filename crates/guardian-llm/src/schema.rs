//! The answer schema in each provider's accepted form, and local validation.
//!
//! Our schemars schema (see `guardian_core::analysis::schema()`) already stays inside the
//! intersection every provider accepts (design note §1, "Our schema design"), but schemars
//! writes a few things strict modes reject. [`strictify`] produces OpenAI's strict form:
//!
//! - every object gets `additionalProperties: false` and lists **every** property in
//!   `required`; a property that was optional becomes a union with `null`;
//! - `oneOf` becomes `anyOf` (strict mode knows only `anyOf`), and a `oneOf` of string
//!   `const`s (how schemars writes documented enums) becomes a plain `enum`;
//! - a `$ref` loses its sibling keywords (strict mode has rejected `$ref` with siblings);
//! - keywords strict mode rejects or does not know are dropped: `$schema`, `title`,
//!   `allOf` (a single-element `allOf` is merged first), `not`, `if`/`then`/`else`,
//!   `patternProperties`, `dependentRequired`, string lengths, `default`, `examples`, and
//!   `format`s outside the supported list (schemars' `double` for `f64`).
//!
//! `$defs`/`$ref` are kept (strict mode allows them). [`inline_refs`] replaces them by their
//! definitions for providers that read the schema as plain guidance (Anthropic tool input)
//! or whose subset is uncertain (Gemini). Unsupported keywords may be silently ignored by a
//! provider, so every answer is validated locally with [`Validator`].

use serde_json::{Map, Value, json};

/// Keywords OpenAI strict mode accepts (design note §1, "Strict-mode rules"), plus
/// `description` which every provider reads as guidance.
const ALLOWED: &[&str] = &[
    "type",
    "properties",
    "required",
    "additionalProperties",
    "items",
    "enum",
    "const",
    "anyOf",
    "$ref",
    "$defs",
    "description",
    "pattern",
    "format",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
    "minItems",
    "maxItems",
];

/// String `format`s strict mode supports.
const FORMATS: &[&str] = &[
    "date-time",
    "date",
    "time",
    "duration",
    "email",
    "hostname",
    "ipv4",
    "ipv6",
    "uuid",
];

/// The OpenAI strict form of a schema (see the module docs). Also the base of every other
/// provider's form.
pub fn strictify(schema: &Value) -> Value {
    strict_node(schema, true)
}

/// The form sent to Anthropic as the forced tool's `input_schema`: strict, references
/// inlined (the tool schema is guidance for the model, so it reads best self-contained).
pub fn for_anthropic(schema: &Value) -> Value {
    inline_refs(&strictify(schema))
}

/// The form sent to Gemini as `generationConfig.responseJsonSchema`: strict, references
/// inlined (Gemini's JSON-Schema subset is documented as evolving; inlining avoids relying
/// on `$ref` support).
pub fn for_gemini(schema: &Value) -> Value {
    inline_refs(&strictify(schema))
}

fn strict_node(node: &Value, root: bool) -> Value {
    let Value::Object(map) = node else {
        return node.clone();
    };
    let mut map = map.clone();

    // schemars 0.8 wrote `allOf: [{$ref}]` next to a description; merge a single element.
    if let Some(Value::Array(all)) = map.get("allOf")
        && all.len() == 1
        && let Some(Value::Object(only)) = all.first().cloned()
    {
        map.remove("allOf");
        for (k, v) in only {
            map.entry(k).or_insert(v);
        }
    }
    if let Some(one_of) = map.remove("oneOf") {
        match string_consts(&one_of) {
            Some(values) => {
                map.insert("type".into(), json!("string"));
                map.insert("enum".into(), Value::Array(values));
            }
            None => {
                map.insert("anyOf".into(), one_of);
            }
        }
    }
    if map.contains_key("$ref") {
        // Strict mode: `$ref` stands alone.
        map.retain(|k, _| k == "$ref" || (root && k == "$defs"));
    }
    map.retain(|k, v| {
        ALLOWED.contains(&k.as_str())
            && (k != "format" || v.as_str().is_some_and(|f| FORMATS.contains(&f)))
    });

    let mut out = Map::new();
    for (key, value) in map {
        let value = match key.as_str() {
            "properties" | "$defs" => match value {
                Value::Object(children) => Value::Object(
                    children
                        .into_iter()
                        .map(|(k, v)| {
                            let v = strict_node(&v, false);
                            (k, v)
                        })
                        .collect(),
                ),
                other => other,
            },
            "items" => strict_node(&value, false),
            "anyOf" => match value {
                Value::Array(items) => {
                    Value::Array(items.iter().map(|v| strict_node(v, false)).collect())
                }
                other => other,
            },
            _ => value,
        };
        out.insert(key, value);
    }

    let is_object =
        out.get("type").and_then(Value::as_str) == Some("object") || out.contains_key("properties");
    if is_object {
        out.insert("additionalProperties".into(), Value::Bool(false));
        let properties = match out.remove("properties") {
            Some(Value::Object(p)) => p,
            _ => Map::new(),
        };
        let required: Vec<String> = match out.get("required") {
            Some(Value::Array(r)) => r
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect(),
            _ => Vec::new(),
        };
        let mut props = Map::new();
        for (name, schema) in properties {
            let schema = if required.contains(&name) {
                schema
            } else {
                nullable(schema)
            };
            props.insert(name, schema);
        }
        // `required` keeps schemars' declared field order, then the formerly optional fields.
        // (The `properties` map itself is key-sorted: the workspace's serde_json has no
        // `preserve_order`, so strict decoding emits fields alphabetically.)
        let mut all: Vec<Value> = required
            .iter()
            .filter(|r| props.contains_key(r.as_str()))
            .map(|r| Value::String(r.clone()))
            .collect();
        all.extend(
            props
                .keys()
                .filter(|k| !required.contains(k))
                .map(|k| Value::String(k.clone())),
        );
        out.insert("required".into(), Value::Array(all));
        out.insert("properties".into(), Value::Object(props));
    }
    Value::Object(out)
}

/// `oneOf: [{const: "a", type: "string"}, …]` → `["a", …]`.
fn string_consts(one_of: &Value) -> Option<Vec<Value>> {
    let items = one_of.as_array()?;
    items
        .iter()
        .map(|item| {
            let c = item.get("const")?;
            c.is_string().then(|| c.clone())
        })
        .collect()
}

/// The schema as a union with `null` (an optional property under strict mode).
fn nullable(schema: Value) -> Value {
    let Value::Object(mut map) = schema else {
        return schema;
    };
    let null = json!({"type": "null"});
    if map.contains_key("$ref") || map.contains_key("enum") || map.contains_key("const") {
        let description = map.remove("description");
        let mut out = Map::new();
        out.insert("anyOf".into(), Value::Array(vec![Value::Object(map), null]));
        if let Some(d) = description {
            out.insert("description".into(), d);
        }
        return Value::Object(out);
    }
    if let Some(Value::Array(any)) = map.get_mut("anyOf") {
        if !any.contains(&null) {
            any.push(null);
        }
        return Value::Object(map);
    }
    match map.get_mut("type") {
        Some(Value::String(t)) if t != "null" => {
            let t = std::mem::take(t);
            map.insert("type".into(), json!([t, "null"]));
        }
        Some(Value::Array(types)) if !types.iter().any(|t| t == "null") => {
            types.push(json!("null"));
        }
        _ => {}
    }
    Value::Object(map)
}

/// Replaces every local `#/$defs/NAME` reference by its definition and drops `$defs`.
/// Recursive definitions are left as references (with their `$defs`), since they cannot be
/// inlined.
pub fn inline_refs(schema: &Value) -> Value {
    let defs = schema
        .get("$defs")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let mut recursive = false;
    let mut out = inline_node(schema, &defs, &mut Vec::new(), &mut recursive);
    if !recursive && let Value::Object(map) = &mut out {
        map.remove("$defs");
    }
    out
}

fn inline_node(
    node: &Value,
    defs: &Map<String, Value>,
    stack: &mut Vec<String>,
    recursive: &mut bool,
) -> Value {
    match node {
        Value::Object(map) => {
            if let Some(name) = map
                .get("$ref")
                .and_then(Value::as_str)
                .and_then(|r| r.strip_prefix("#/$defs/"))
                && let Some(def) = defs.get(name)
            {
                if stack.iter().any(|s| s == name) {
                    *recursive = true;
                    return node.clone();
                }
                stack.push(name.to_owned());
                let mut inlined = inline_node(def, defs, stack, recursive);
                stack.pop();
                // Sibling keywords of the reference (e.g. a property's description) win.
                if let Value::Object(target) = &mut inlined {
                    for (k, v) in map.iter().filter(|(k, _)| k.as_str() != "$ref") {
                        target.insert(k.clone(), inline_node(v, defs, stack, recursive));
                    }
                }
                return inlined;
            }
            let at_root = stack.is_empty();
            Value::Object(
                map.iter()
                    .filter(|(k, _)| k.as_str() != "$defs" || at_root)
                    .map(|(k, v)| {
                        let v = if k == "$defs" {
                            v.clone()
                        } else {
                            inline_node(v, defs, stack, recursive)
                        };
                        (k.clone(), v)
                    })
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|v| inline_node(v, defs, stack, recursive))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// The instruction appended to the system prompt where the provider's grammar is not shown
/// to the model (Ollama, llama.cpp-based servers): without it a small model does not know
/// what the fields mean.
pub fn prompt_instruction(schema: &Value) -> String {
    format!(
        "Answer with one JSON object only (no prose, no code fences) that conforms to this JSON \
         Schema:\n{schema}"
    )
}

/// A compiled JSON schema for local validation of answers.
pub struct Validator {
    inner: jsonschema::Validator,
}

impl std::fmt::Debug for Validator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Validator").finish_non_exhaustive()
    }
}

impl Validator {
    /// Compiles `schema` (draft 2020-12, as schemars writes it). Errors say what is wrong.
    pub fn new(schema: &Value) -> Result<Validator, String> {
        jsonschema::validator_for(schema)
            .map(|inner| Validator { inner })
            .map_err(|e| format!("invalid JSON schema: {e}"))
    }

    /// Every violation as `"<JSON pointer>: <message>"` (`/` is the root); empty = valid.
    pub fn validate(&self, value: &Value) -> Vec<String> {
        self.inner
            .iter_errors(value)
            .map(|e| {
                let path = e.instance_path().to_string();
                let path = if path.is_empty() { "/".into() } else { path };
                format!("{path}: {e}")
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn optional_fields_become_required_nullable_unions() {
        let s = json!({
            "type": "object",
            "title": "T",
            "properties": {
                "a": {"type": "string", "minLength": 1},
                "b": {"type": "integer", "format": "int64"},
                "c": {"$ref": "#/$defs/C", "description": "see C"},
                "d": {"anyOf": [{"type": "string"}]},
                "e": {"type": ["string", "null"]},
            },
            "required": ["a"],
            "$defs": {"C": {"oneOf": [{"const": "x", "type": "string"}, {"const": "y", "type": "string"}]}},
        });
        let s = strictify(&s);
        assert_eq!(
            s,
            json!({
                "type": "object",
                "additionalProperties": false,
                "required": ["a", "b", "c", "d", "e"],
                "properties": {
                    "a": {"type": "string"},
                    "b": {"type": ["integer", "null"]},
                    "c": {"anyOf": [{"$ref": "#/$defs/C"}, {"type": "null"}]},
                    "d": {"anyOf": [{"type": "string"}, {"type": "null"}]},
                    "e": {"type": ["string", "null"]},
                },
                "$defs": {"C": {"type": "string", "enum": ["x", "y"]}},
            })
        );
        let inlined = inline_refs(&s);
        assert_eq!(
            inlined["properties"]["c"],
            json!({"anyOf": [{"type": "string", "enum": ["x", "y"]}, {"type": "null"}]})
        );
        assert!(inlined.get("$defs").is_none());
    }

    #[test]
    fn recursive_definitions_stay_references() {
        let s = json!({
            "type": "object",
            "properties": {"n": {"$ref": "#/$defs/N"}},
            "required": ["n"],
            "$defs": {"N": {"type": "object", "properties": {"next": {"$ref": "#/$defs/N"}}, "required": ["next"]}},
        });
        let out = inline_refs(&s);
        assert_eq!(
            out["properties"]["n"]["properties"]["next"],
            json!({"$ref": "#/$defs/N"})
        );
        assert!(out.get("$defs").is_some());
    }

    #[test]
    fn validator_reports_paths() {
        let v = Validator::new(&json!({
            "type": "object",
            "properties": {"x": {"type": "integer"}},
            "required": ["x"],
            "additionalProperties": false,
        }))
        .unwrap();
        assert!(v.validate(&json!({"x": 1})).is_empty());
        let errors = v.validate(&json!({"x": "one", "y": 2}));
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(errors.iter().any(|e| e.starts_with("/x: ")), "{errors:?}");
        assert!(Validator::new(&json!({"type": 12})).is_err());
    }
}
