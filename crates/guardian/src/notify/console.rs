//! The console channel ([`Console`]): one readable line per decision on stdout, plus an info
//! log line.
//!
//! It is the fallback that needs no configuration (local runs, demos, a cluster without Slack
//! access) and the last resort when every other channel is down, so it **never fails**: a closed
//! or full stdout is ignored rather than reported, because retrying a console write cannot help
//! and an error would only make the outbox retry forever.
//!
//! Line format: `<headline> · <summary> · <link>` (summary and link when present), e.g.
//!
//! ```text
//! [critical] Opened: prod-eu/shop Deployment/checkout — crash_loop · Back-off restarting failed container · https://guardian.example/incidents/01J…
//! ```

use std::io::Write;
use std::sync::{Arc, Mutex};

use futures::FutureExt;
use futures::future::BoxFuture;

use super::{Delivered, Message, Notifier, SendError, headline, one_line, truncate};

/// Longest summary shown, in characters: one line should stay one terminal line or two.
const SUMMARY_LIMIT: usize = 200;

/// Writes decisions to stdout.
#[derive(Clone)]
pub struct Console {
    /// Configured channel name.
    name: String,
    /// Where lines go: stdout, or a writer (tests; embedding).
    out: Option<Arc<Mutex<Box<dyn Write + Send>>>>,
}

impl std::fmt::Debug for Console {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Console")
            .field("name", &self.name)
            .field("stdout", &self.out.is_none())
            .finish()
    }
}

impl Console {
    /// A console channel named `name`, writing to stdout.
    pub fn new(name: String) -> Self {
        Self { name, out: None }
    }

    /// A console channel writing to `writer` instead of stdout (tests read what was written;
    /// stdout would also bypass the test harness's output capture).
    pub fn with_writer(name: String, writer: Box<dyn Write + Send>) -> Self {
        Self {
            name,
            out: Some(Arc::new(Mutex::new(writer))),
        }
    }

    /// Writes one line, ignoring failures (see the module docs).
    fn write_line(&self, line: &str) {
        match &self.out {
            None => {
                // NB: `println!` panics when stdout is closed (a broken pipe); a failed write
                // is ignored instead.
                let mut out = std::io::stdout().lock();
                let _ = writeln!(out, "{line}");
                let _ = out.flush();
            }
            Some(writer) => {
                // A writer poisoned by a panic elsewhere is still a writer.
                let mut out = writer.lock().unwrap_or_else(|p| p.into_inner());
                let _ = writeln!(out, "{line}");
                let _ = out.flush();
            }
        }
    }
}

/// The line for `message`.
pub fn line(message: &Message) -> String {
    let mut line = one_line(&headline(message));
    let summary = one_line(&message.incident.summary);
    if !summary.is_empty() {
        line.push_str(" · ");
        line.push_str(&truncate(&summary, SUMMARY_LIMIT));
    }
    if let Some(link) = message.link.as_deref().filter(|l| !l.is_empty()) {
        line.push_str(" · ");
        line.push_str(&one_line(link));
    }
    line
}

impl Notifier for Console {
    fn name(&self) -> &str {
        &self.name
    }

    fn send<'a>(&'a self, message: &'a Message) -> BoxFuture<'a, Result<Delivered, SendError>> {
        async move {
            self.write_line(&line(message));
            let i = &message.incident;
            tracing::info!(
                channel = %self.name,
                incident = %i.id,
                kind = message.kind.as_str(),
                severity = %i.severity,
                "Notification written to the console."
            );
            Ok(Delivered::default())
        }
        .boxed()
    }
}
