//! Channel stub (helper-5 replaces this file).
#![allow(missing_docs, dead_code)]
use futures::future::BoxFuture;
use secrecy::SecretString;

use super::{Delivered, Message, Notifier, SendError};

pub struct Webhook {
    name: String,
}
impl Webhook {
    pub fn new(name: String, _u: SecretString, _s: SecretString, _http: reqwest::Client) -> Self {
        Self { name }
    }
}
impl Notifier for Webhook {
    fn name(&self) -> &str {
        &self.name
    }
    fn send<'a>(&'a self, _m: &'a Message) -> BoxFuture<'a, Result<Delivered, SendError>> {
        Box::pin(async { Err(SendError::Permanent { reason: "stub".into() }) })
    }
}
