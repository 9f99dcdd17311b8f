//! Provider clients against real HTTP servers on 127.0.0.1 that speak each provider's
//! protocol (axum, scripted replies, every request recorded). No mocks of our own code.

mod anthropic;
mod common;
mod gemini;
mod ollama;
mod openai;
mod resilience;
mod schemas;
