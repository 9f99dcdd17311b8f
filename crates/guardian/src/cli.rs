//! Command-line interface (subcommands per architecture.md "CLI"). Every flag can also be set
//! from its environment variable; the API token is read from `GUARDIAN_API_TOKEN` only, never
//! from a flag (flags show up in `ps`).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};
use secrecy::SecretString;

use crate::api::views::TransitionRequest;
use crate::client::{self, Client};
use crate::config::{self, Overrides, TOKEN_ENV};
use crate::telemetry::{self, LogFormat};

/// SRE Guardian: turns cluster noise into a short list of incidents a human can act on.
#[derive(Debug, Parser)]
#[command(name = "guardian", version, about, long_about = None)]
pub struct Cli {
    /// Log format on stderr.
    #[arg(
        long,
        env = "GUARDIAN_LOG_FORMAT",
        value_enum,
        default_value = "plain",
        global = true
    )]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// The operator: everything `serve` does plus the Kubernetes detectors (KUBECONFIG or
    /// in-cluster config).
    Run(ServeArgs),
    /// Engine, store, HTTP API and Alertmanager receiver, without Kubernetes.
    Serve(ServeArgs),
    /// Offline detection over a snapshot directory (e.g. `kubectl cluster-info dump`).
    Scan(crate::scan::ScanArgs),
    /// Incidents, through the HTTP API.
    Incidents(IncidentsArgs),
    /// LLM calls, tokens, cost and budgets left, through the HTTP API.
    LlmUsage {
        /// API server.
        #[arg(long, env = "GUARDIAN_SERVER", default_value = "http://127.0.0.1:8080")]
        server: String,
        /// Window in hours.
        #[arg(long, default_value_t = 24)]
        hours: u32,
        /// Output format.
        #[arg(long, short = 'o', value_enum, default_value = "table")]
        output: Output,
    },
    /// Validate the configuration and print it with secrets masked.
    CheckConfig(ConfigArgs),
    /// Print what would leave the process for FILE (stdin when absent): the redacted text on
    /// stdout, the redaction receipt on stderr.
    Redact {
        /// File to redact (JSON, YAML or text).
        file: Option<PathBuf>,
    },
    /// Print the analysis answer's JSON schema.
    PrintSchema,
    /// Print the configuration reference (docs/configuration.md) generated from the config types.
    ConfigReference,
    /// Print the version.
    Version,
}

#[derive(Debug, Args)]
struct ConfigArgs {
    /// Configuration file (default /etc/guardian/config.yaml when present, else embedded
    /// defaults).
    #[arg(long, env = "GUARDIAN_CONFIG")]
    config: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct ServeArgs {
    #[command(flatten)]
    config: ConfigArgs,
    /// Listen address (overrides api.listen; default 127.0.0.1:8080).
    #[arg(long, env = "GUARDIAN_LISTEN")]
    listen: Option<String>,
    /// SQLite file (overrides store.path; default guardian.db).
    #[arg(long, env = "GUARDIAN_STORE")]
    store: Option<PathBuf>,
}

impl ServeArgs {
    fn load(self) -> Result<config::Settings, config::Error> {
        let overrides = Overrides {
            listen: self.listen,
            store: self.store,
        };
        config::load(self.config.config.as_deref(), &overrides)
    }
}

#[derive(Debug, Args)]
struct IncidentsArgs {
    /// API server.
    #[arg(
        long,
        env = "GUARDIAN_SERVER",
        default_value = "http://127.0.0.1:8080",
        global = true
    )]
    server: String,
    #[command(subcommand)]
    command: IncidentsCommand,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
enum Output {
    /// kubectl-style table / description.
    Table,
    /// The API's JSON.
    Json,
}

#[derive(Debug, Subcommand)]
enum IncidentsCommand {
    /// List incidents (default: open and acknowledged).
    List {
        /// open, acknowledged, resolved, active or all (comma-separated).
        #[arg(long)]
        status: Option<String>,
        /// Only this namespace.
        #[arg(long, short = 'n')]
        namespace: Option<String>,
        /// Only this severity.
        #[arg(long)]
        severity: Option<String>,
        /// Only incidents (not) flagged for human review.
        #[arg(long)]
        needs_review: Option<bool>,
        /// Most rows.
        #[arg(long)]
        limit: Option<u32>,
        /// Output format.
        #[arg(long, short = 'o', value_enum, default_value = "table")]
        output: Output,
    },
    /// Show one incident with its timeline.
    Show {
        /// Incident id.
        id: String,
        /// Output format.
        #[arg(long, short = 'o', value_enum, default_value = "table")]
        output: Output,
    },
    /// Acknowledge an incident.
    Ack {
        /// Incident id.
        id: String,
        /// Note for the audit timeline.
        #[arg(long)]
        note: Option<String>,
        /// Who is acting (default $USER).
        #[arg(long, env = "USER")]
        actor: Option<String>,
        /// Acknowledgement lifetime in seconds (0 = never expires; default from the server's
        /// config).
        #[arg(long)]
        expires_in_secs: Option<u64>,
        /// Output format.
        #[arg(long, short = 'o', value_enum, default_value = "table")]
        output: Output,
    },
    /// Resolve an incident.
    Resolve {
        /// Incident id.
        id: String,
        /// Note for the audit timeline.
        #[arg(long)]
        note: Option<String>,
        /// Who is acting (default $USER).
        #[arg(long, env = "USER")]
        actor: Option<String>,
        /// Output format.
        #[arg(long, short = 'o', value_enum, default_value = "table")]
        output: Output,
    },
}

/// Parses the command line and runs it.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    telemetry::init(cli.log_format);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(error) => {
            eprintln!("error: unable to start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(cli.command.run()) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// Exit code for invalid configuration (like clap's usage errors).
const EXIT_CONFIG: u8 = 2;

impl Command {
    async fn run(self) -> anyhow::Result<ExitCode> {
        match self {
            Command::Run(args) => {
                let settings = match args.load() {
                    Ok(s) => s,
                    Err(error) => return Ok(config_error(&error)),
                };
                crate::run::run(settings).await?;
                Ok(ExitCode::SUCCESS)
            }
            Command::Serve(args) => {
                let settings = match args.load() {
                    Ok(s) => s,
                    Err(error) => return Ok(config_error(&error)),
                };
                crate::serve::run(settings).await?;
                Ok(ExitCode::SUCCESS)
            }
            Command::Scan(args) => crate::scan::run(args).await,
            Command::CheckConfig(args) => {
                match config::load(args.config.as_deref(), &Overrides::default()) {
                    Ok(settings) => {
                        print!("{}", settings.effective_yaml());
                        eprintln!("Configuration is valid.");
                        Ok(ExitCode::SUCCESS)
                    }
                    Err(error) => Ok(config_error(&error)),
                }
            }
            Command::Redact { file } => Ok(crate::redact_cmd::run(file.as_deref())),
            Command::PrintSchema => {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&guardian_core::analysis::schema())?
                );
                Ok(ExitCode::SUCCESS)
            }
            Command::ConfigReference => {
                print!("{}", config::reference_markdown());
                Ok(ExitCode::SUCCESS)
            }
            Command::Version => {
                println!("guardian {}", env!("CARGO_PKG_VERSION"));
                Ok(ExitCode::SUCCESS)
            }
            Command::Incidents(args) => incidents(args).await,
            Command::LlmUsage {
                server,
                hours,
                output,
            } => {
                let client = Client::new(&server, token_from_env())?;
                let usage = client.llm_usage(hours).await?;
                match output {
                    Output::Json => print_json(&usage)?,
                    Output::Table => print!("{}", client::usage_text(&usage)),
                }
                Ok(ExitCode::SUCCESS)
            }
        }
    }
}

fn config_error(error: &config::Error) -> ExitCode {
    eprintln!("error: {error}");
    ExitCode::from(EXIT_CONFIG)
}

fn print_json(value: &impl serde::Serialize) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

fn token_from_env() -> Option<SecretString> {
    std::env::var(TOKEN_ENV)
        .ok()
        .filter(|t| !t.trim().is_empty())
        .map(|t| SecretString::from(t.trim().to_string()))
}

async fn incidents(args: IncidentsArgs) -> anyhow::Result<ExitCode> {
    let client = Client::new(&args.server, token_from_env())?;
    let now = jiff::Timestamp::now().as_millisecond();
    match args.command {
        IncidentsCommand::List {
            status,
            namespace,
            severity,
            needs_review,
            limit,
            output,
        } => {
            let mut query = Vec::new();
            let mut push = |k: &'static str, v: Option<String>| {
                if let Some(v) = v {
                    query.push((k, v));
                }
            };
            push("status", status);
            push("namespace", namespace);
            push("severity", severity);
            push("needs_review", needs_review.map(|b| b.to_string()));
            push("limit", limit.map(|l| l.to_string()));
            let list = client.list(&query).await?;
            match output {
                Output::Json => print_json(&list)?,
                Output::Table => print!("{}", client::incidents_table(&list.incidents, now)),
            }
        }
        IncidentsCommand::Show { id, output } => {
            let detail = client.show(&id).await?;
            match output {
                Output::Json => print_json(&detail)?,
                Output::Table => print!("{}", client::describe(&detail)),
            }
        }
        IncidentsCommand::Ack {
            id,
            note,
            actor,
            expires_in_secs,
            output,
        } => {
            let request = TransitionRequest {
                actor,
                note,
                expires_in_secs,
            };
            let incident = client.ack(&id, &request).await?;
            match output {
                Output::Json => print_json(&incident)?,
                Output::Table => println!("incident {} acknowledged", incident.id),
            }
        }
        IncidentsCommand::Resolve {
            id,
            note,
            actor,
            output,
        } => {
            let request = TransitionRequest {
                actor,
                note,
                expires_in_secs: None,
            };
            let incident = client.resolve(&id, &request).await?;
            match output {
                Output::Json => print_json(&incident)?,
                Output::Table => println!("incident {} resolved", incident.id),
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
