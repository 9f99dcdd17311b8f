//! `guardian scan --snapshot DIR`: offline detection over a snapshot directory.
//!
//! Load the snapshot ([`crate::snapshot`]) → run the detector chain
//! ([`guardian_core::detect::run`]) → feed every signal as an [`Observation::Firing`] into a
//! throw-away SQLite store through [`IncidentStore::observe`], so deduplication and fingerprints
//! are exactly those of the live operator → print the incidents as `{"incidents": [...]}`
//! ([`IncidentView`]) or a kubectl-style table.
//!
//! "Now" is `--now` or the newest timestamp found in the objects, so a scan of the same
//! directory always gives the same answer. The exit code is 0 whenever the scan completed
//! (incidents or not), 1 for an unreadable snapshot, 2 for an invalid configuration.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use guardian_core::detect;
use guardian_core::redact::Redactor;
use guardian_core::signal::Observation;
use guardian_core::time::Millis;

use crate::api::views::{IncidentList, IncidentView};
use crate::config::{self, Config, Overrides};
use crate::store::sqlite::{Options, SqliteStore};
use crate::store::{IncidentStore, ListFilter};

/// Exit code for invalid configuration (as for every other subcommand).
const EXIT_CONFIG: u8 = 2;

/// Most incidents listed; a snapshot yielding more is itself the finding.
const MAX_INCIDENTS: u32 = 10_000;

/// Arguments of `guardian scan`.
#[derive(Debug, Clone, clap::Args)]
pub struct ScanArgs {
    /// Snapshot directory: *.json / *.yaml objects or Lists (e.g. `kubectl cluster-info dump
    /// --output-directory DIR`), pod logs as `<ns>/<pod>/logs.txt` or
    /// `logs/<ns>/<pod>/<container>[.previous].log`.
    #[arg(long, value_name = "DIR")]
    pub snapshot: PathBuf,
    /// The instant to judge the snapshot at (RFC 3339); default: the newest timestamp found in
    /// its objects.
    #[arg(long, value_name = "RFC3339", value_parser = parse_now)]
    pub now: Option<Millis>,
    /// Output format (default: table on a terminal, else json).
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// Also print, per incident, the exact redacted request an LLM would be sent (system
    /// prompt, evidence, schema) — on stderr, so stdout stays parseable.
    #[arg(long)]
    pub show_prompt: bool,
    /// Configuration file (cluster name, lifecycle policy); default
    /// /etc/guardian/config.yaml when present, else embedded defaults.
    #[arg(long, env = "GUARDIAN_CONFIG")]
    pub config: Option<PathBuf>,
}

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// `{"incidents": [...]}`, the API's incident shape.
    Json,
    /// kubectl-style table.
    Table,
}

fn parse_now(text: &str) -> Result<Millis, String> {
    guardian_core::time::parse_rfc3339(text)
        .ok_or_else(|| format!("`{text}` is not an RFC 3339 timestamp (e.g. 2026-03-01T12:00:00Z)"))
}

/// What a scan found.
#[derive(Debug, Clone)]
pub struct ScanResult {
    /// The instant the snapshot was judged at.
    pub now: Millis,
    /// Incidents, ordered by namespace, object, category.
    pub incidents: Vec<IncidentView>,
    /// Signals the detectors produced (before deduplication).
    pub signals: usize,
    /// Documents the loader skipped.
    pub skipped: Vec<String>,
    /// With `--show-prompt`: the redacted request per incident.
    pub prompts: Vec<String>,
}

/// Runs `guardian scan` and prints the result.
pub async fn run(args: ScanArgs) -> anyhow::Result<ExitCode> {
    let config = match config::load(args.config.as_deref(), &Overrides::default()) {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("error: {error}");
            return Ok(ExitCode::from(EXIT_CONFIG));
        }
    };
    let redactor = Redactor::new(config.secrets.values());
    let result = scan(&args, &config.config, &redactor).await?;
    for line in &result.skipped {
        tracing::debug!(skipped = %line, "Skipped a snapshot document.");
    }
    let format = args.format.unwrap_or(if std::io::stdout().is_terminal() {
        Format::Table
    } else {
        Format::Json
    });
    for prompt in &result.prompts {
        eprintln!("{prompt}");
    }
    print!("{}", render(&result, format)?);
    Ok(ExitCode::SUCCESS)
}

/// Loads, detects and deduplicates; prints nothing.
pub async fn scan(
    args: &ScanArgs,
    config: &Config,
    redactor: &Redactor,
) -> anyhow::Result<ScanResult> {
    let loaded = crate::snapshot::load(&args.snapshot)?;
    let now = match args.now.or(loaded.snapshot.newest_timestamp()) {
        Some(now) => now,
        None => anyhow::bail!(
            "cannot tell when the snapshot {} was taken (no timestamps in its objects); pass --now",
            args.snapshot.display()
        ),
    };
    // The same detection settings as the live operator, so offline and live agree.
    let settings = config.kubernetes.detection_settings(&config.cluster_name);
    let signals = detect::run_with(&loaded.snapshot, &settings, now, redactor);
    let policy = config.policy();

    let db = TempDb::new();
    let store = SqliteStore::open(&Options {
        path: db.path.clone(),
        busy_timeout: Duration::from_secs(5),
        read_connections: 1,
    })
    .await
    .with_context(|| format!("unable to open a scratch store at {}", db.path.display()))?;
    let outcome = async {
        for signal in &signals {
            store
                .observe(&Observation::Firing(signal.clone()), &policy, now)
                .await?;
        }
        store
            .list(&ListFilter {
                limit: MAX_INCIDENTS,
                ..ListFilter::default()
            })
            .await
    }
    .await;
    store.close().await;
    let incidents = outcome.context("unable to deduplicate the signals")?;

    // Every incident gets an analysis from the rules engine over the same snapshot.
    let analysis = config.analysis.settings();
    let mut prompts = Vec::new();
    let mut views: Vec<IncidentView> = incidents
        .iter()
        .map(|incident| {
            let produced = crate::analyze::produce(
                incident,
                Some(&loaded.snapshot),
                redactor,
                &analysis,
                "opened",
                now,
            );
            if args.show_prompt {
                let schema = guardian_core::analysis::schema();
                prompts.push(format!(
                    "### {} {}\n--- system\n{}\n--- user\n{}",
                    incident.object,
                    incident.category,
                    guardian_core::analysis::prompt::SYSTEM,
                    guardian_core::analysis::prompt::user(&produced.context, &schema)
                ));
            }
            let mut view = IncidentView::from(incident);
            view.analysis = Some(crate::analyze::summary(&produced.record));
            view
        })
        .collect();
    views.sort_by(|a, b| {
        (&a.namespace, &a.object.kind, &a.object.name, &a.category).cmp(&(
            &b.namespace,
            &b.object.kind,
            &b.object.name,
            &b.category,
        ))
    });
    Ok(ScanResult {
        now,
        prompts,
        incidents: views,
        signals: signals.len(),
        skipped: loaded.skipped,
    })
}

/// Renders a result in the given format.
pub fn render(result: &ScanResult, format: Format) -> anyhow::Result<String> {
    Ok(match format {
        Format::Json => {
            let list = IncidentList {
                incidents: result.incidents.clone(),
            };
            let mut text = serde_json::to_string_pretty(&list)?;
            text.push('\n');
            text
        }
        Format::Table => table(&result.incidents),
    })
}

/// The offline table: no ids (the scratch store is gone) and no ages (everything is judged at
/// one instant), but the analysis' verdict.
fn table(incidents: &[IncidentView]) -> String {
    if incidents.is_empty() {
        return "No incidents found.\n".into();
    }
    let rows: Vec<Vec<String>> = incidents
        .iter()
        .map(|i| {
            let a = i.analysis.as_ref();
            let confidence = a
                .and_then(|a| a["confidence"].as_f64())
                .map_or("-".to_string(), |c| format!("{:.0}%", c * 100.0));
            let review = a
                .and_then(|a| a["needs_human_review"].as_bool())
                .map_or("-", |r| if r { "yes" } else { "no" });
            let cause = a
                .and_then(|a| a["hypotheses"][0]["cause"].as_str())
                .unwrap_or(&i.summary);
            let cause: String = if cause.chars().count() > 80 {
                cause.chars().take(79).chain(['…']).collect()
            } else {
                cause.to_string()
            };
            vec![
                i.namespace.clone().unwrap_or_else(|| "-".into()),
                format!("{}/{}", i.object.kind, i.object.name),
                i.category.clone(),
                i.severity.clone(),
                i.occurrences.to_string(),
                confidence,
                review.to_string(),
                cause,
            ]
        })
        .collect();
    crate::client::table(
        &[
            "NAMESPACE",
            "OBJECT",
            "CATEGORY",
            "SEVERITY",
            "SEEN",
            "CONFIDENCE",
            "REVIEW",
            "LIKELY CAUSE",
        ],
        &rows,
    )
}

/// A scratch database file under the temp dir, removed (with its WAL files) on drop.
struct TempDb {
    path: PathBuf,
}

impl TempDb {
    fn new() -> Self {
        let unique = uuid::Uuid::now_v7().simple();
        let path =
            std::env::temp_dir().join(format!("guardian-scan-{}-{unique}.db", std::process::id()));
        Self { path }
    }

    fn remove(path: &Path) {
        for suffix in ["", "-wal", "-shm", "-journal"] {
            let mut p = path.as_os_str().to_owned();
            p.push(suffix);
            // Best effort: a leftover scratch file in the temp dir is harmless.
            let _ = std::fs::remove_file(PathBuf::from(p));
        }
    }
}

impl Drop for TempDb {
    fn drop(&mut self) {
        Self::remove(&self.path);
    }
}
