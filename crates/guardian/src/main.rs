//! `guardian`: see `guardian --help`.

fn main() -> std::process::ExitCode {
    // Exactly one rustls crypto provider (ring) must be the process default before any TLS
    // client (kube, reqwest) is built; see docs/architecture.md.
    let _ = rustls::crypto::ring::default_provider().install_default();
    guardian::cli::main()
}
