//! `kflowc serve --config kflow.toml`: runs the service until SIGINT or
//! SIGTERM, then stops taking requests, lets the engine finish its batch and
//! exits.
//!
//! The service reports through `tracing` events; this is where they are
//! written: one line each on stderr, filtered by `RUST_LOG` (default
//! `info`). The line saying where it listens, and the reasons it could not
//! start, are printed whatever the filter: scripts wait for the first, and
//! an operator must always see the second.

use std::io::IsTerminal as _;
use std::path::PathBuf;

use clap::Args;
use kflow::server::{self, StartError, config::ServeConfig};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::filter::LevelFilter;

use crate::Exit;
use crate::human_out::{HumanReports, Stream};

#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// The configuration file (see docs/serve.md).
    #[arg(long, value_name = "FILE", default_value = "kflow.toml")]
    pub(crate) config: PathBuf,
}

pub(crate) fn run(args: &ServeArgs) -> Exit {
    init_logging();
    let config = match ServeConfig::load(&args.config) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("kflowc serve: {e}");
            return Exit::Failure;
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("kflowc serve: cannot start the async runtime: {e}");
            return Exit::Failure;
        }
    };
    runtime.block_on(async move {
        let (stop, shutdown) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            wait_for_signal().await;
            let _ = stop.send(true);
        });
        let env = |name: &str| std::env::var(name).ok();
        let ready = |addr| eprintln!("kflowc serve: listening on http://{addr}");
        match server::serve(config, &env, shutdown, ready).await {
            Ok(()) => Exit::Success,
            Err(StartError::Workflow(file, diagnostics)) => {
                let mut reports = HumanReports::for_stream(Stream::Stderr);
                let _ = reports.write_file(&mut std::io::stderr(), &file, &diagnostics);
                eprintln!("kflowc serve: {} has errors; not starting", file.name());
                Exit::Problems
            }
            Err(StartError::Other(e)) => {
                eprintln!("kflowc serve: {e}");
                Exit::Failure
            }
        }
    })
}

/// Writes the service's events to stderr: time, level, module, message and
/// fields, without colour unless stderr is a terminal (so piped logs and
/// tests read plain text). `RUST_LOG` chooses what is written, e.g. `warn`
/// or `info,kflow::server::app=warn`; without it, `info` and above. Invalid
/// directives in it are reported and skipped, not fatal.
fn init_logging() {
    let filter = EnvFilter::builder()
        .with_default_directive(LevelFilter::INFO.into())
        .from_env_lossy();
    // Fails only if a subscriber is already set, which then stays in charge.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
