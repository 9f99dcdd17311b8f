//! Log-derived hints: what a failing container's own log says about the cause.
//!
//! A crash loop or a failing readiness probe is a symptom; the log often names the cause. Two
//! classes are recognised because they change what an SRE does next:
//!
//! - `disk_full`: `No space left on device`, `ENOSPC`, quota exceeded, "database or disk is
//!   full" — grow or clean the volume, restarting will not help;
//! - `dependency_unavailable`: connection refused, timeouts, DNS failures towards another
//!   service — look at the dependency or the network path (a NetworkPolicy, say), not at this
//!   workload.
//!
//! Only the tail of the log is read ([`super::Settings::log_tail_lines`]): the lines before a
//! crash are the ones that explain it, and an old transient error earlier in a long log must
//! not reclassify a fresh failure. Disk exhaustion wins over dependency errors because a full
//! disk frequently *causes* connection errors further down (a database refusing connections).

use std::sync::LazyLock;

use regex::Regex;

use super::snapshot::ContainerLog;
use crate::taxonomy::Category;

/// Longest log line quoted in a signal message.
const MAX_QUOTED_CHARS: usize = 300;

static DISK_FULL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)no space left on device|\bENOSPC\b|disk quota exceeded|\bEDQUOT\b|database or disk is full|could not extend file|not enough space on the disk|file ?system (is )?full",
    )
    .expect("constant regex compiles")
});

static DEPENDENCY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)connection refused|\bECONNREFUSED\b|i/o timeout|connection timed out|\bETIMEDOUT\b|timed out connecting|context deadline exceeded|no such host|could not resolve host|name or service not known|temporary failure in name resolution|\bENOTFOUND\b|\bEAI_AGAIN\b|no route to host|\bEHOSTUNREACH\b|network is unreachable|connection reset by peer|\bECONNRESET\b|upstream connect error|could not connect to server|failed to connect to|server selection timed? ?out",
    )
    .expect("constant regex compiles")
});

/// The class a container's log points at, with the line that says so.
///
/// `container` selects the logs of that container plus container-less ones (a dump's mixed
/// `logs.txt`); `previous_first` looks at the crashed instance before the current one.
pub(crate) fn hint(
    logs: &[ContainerLog],
    container: &str,
    previous_first: bool,
    tail_lines: usize,
) -> Option<(Category, String)> {
    let mut selected: Vec<&ContainerLog> = logs
        .iter()
        .filter(|l| l.container.as_deref().is_none_or(|c| c == container))
        .collect();
    // Stable sort: the preferred stream first, container-specific before mixed logs.
    selected.sort_by_key(|l| (l.previous != previous_first, l.container.is_none()));
    for (class, pattern) in [
        (Category::DiskFull, &*DISK_FULL),
        (Category::DependencyUnavailable, &*DEPENDENCY),
    ] {
        for log in &selected {
            let lines: Vec<&str> = log.text.lines().collect();
            let start = lines.len().saturating_sub(tail_lines);
            // Newest matching line: closest to the failure.
            if let Some(line) = lines[start..].iter().rev().find(|l| pattern.is_match(l)) {
                return Some((class, quote(line)));
            }
        }
    }
    None
}

fn quote(line: &str) -> String {
    let line = line.trim();
    if line.chars().count() <= MAX_QUOTED_CHARS {
        return line.to_string();
    }
    let mut out: String = line.chars().take(MAX_QUOTED_CHARS).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log(container: Option<&str>, previous: bool, text: &str) -> ContainerLog {
        ContainerLog {
            container: container.map(str::to_string),
            previous,
            text: text.to_string(),
        }
    }

    #[test]
    fn disk_full_beats_dependency_errors() {
        let logs = [log(
            Some("db"),
            true,
            "dial tcp 10.0.0.1:5432: connect: connection refused\nFATAL: could not write to file \"pg_wal/x\": No space left on device\n",
        )];
        let (class, line) = hint(&logs, "db", true, 200).unwrap();
        assert_eq!(class, Category::DiskFull);
        assert!(line.contains("No space left"));
    }

    #[test]
    fn dependency_errors_are_recognised_and_other_containers_ignored() {
        let logs = [
            log(Some("sidecar"), false, "ENOSPC\n"),
            log(
                Some("app"),
                false,
                "error: dial tcp 10.96.0.12:5432: i/o timeout\n",
            ),
        ];
        assert_eq!(
            hint(&logs, "app", false, 200).map(|h| h.0),
            Some(Category::DependencyUnavailable)
        );
        assert_eq!(
            hint(&[log(Some("app"), false, "all good\n")], "app", false, 200),
            None
        );
    }

    #[test]
    fn only_the_tail_counts() {
        let mut text = String::from("connection refused\n");
        text.push_str(&"INFO ok\n".repeat(300));
        assert_eq!(hint(&[log(None, false, &text)], "app", false, 200), None);
        assert!(hint(&[log(None, false, &text)], "app", false, 400).is_some());
    }
}
