//! `kflowc serve`: webhooks in, provider calls out, runs kept in SQLite.
//!
//! The pieces, one module each: [`config`] (the TOML file), `app` (the
//! HTTP endpoints, which only verify, parse and store), `processor` (the
//! engine's loop over the durable inbox and its timers), `host` (sends
//! through the effect ledger and the providers), `inbound` (provider
//! webhook shapes), [`signature`] (HMAC checks), `clock` and `metrics`.
//! `docs/serve.md` documents configuration, endpoints and guarantees.

mod app;
mod body_limit;
mod clock;
pub mod config;
mod host;
mod inbound;
mod metrics;
mod processor;
pub mod retention;
mod sendgrid_parse;
mod sends;
pub mod signature;

use std::sync::Arc;

use tokio::sync::{Notify, watch};

use crate::runtime::Engine;
use crate::source::SourceFile;
use crate::store::Store;
use crate::store::db::Db;

/// Why the service could not start.
#[derive(Debug)]
pub enum StartError {
    /// A workflow did not compile; its diagnostics, rendered by the caller.
    Workflow(SourceFile, Vec<crate::Diagnostic>),
    /// Anything else, explained.
    Other(String),
}

/// The moment service time and wall time agreed, stored on first start.
/// This is the one place the service reads the wall clock rather than its
/// own: the origin is, by definition, a wall-clock reading.
async fn clock_origin(db: &Db) -> Result<chrono::DateTime<chrono::Utc>, crate::store::StoreError> {
    db.clock_origin(chrono::Utc::now()).await
}

/// Reads an environment variable holding a secret.
fn secret(env: &dyn Fn(&str) -> Option<String>, name: &str) -> Result<String, StartError> {
    env(name)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| StartError::Other(format!("the environment variable {name} is not set")))
}

/// Reads and compiles every workflow file; the first that does not compile
/// stops the start with its diagnostics. Two files naming the same
/// workflow, or more workflows than one reply can start runs of, are
/// refused.
fn compile_workflows(paths: &[std::path::PathBuf]) -> Result<Vec<crate::ir::Program>, StartError> {
    if paths.len() as u64 > processor::RUNS_PER_EVENT {
        return Err(StartError::Other(format!(
            "{} workflows are configured; one service runs at most {}",
            paths.len(),
            processor::RUNS_PER_EVENT
        )));
    }
    let mut programs: Vec<crate::ir::Program> = Vec::with_capacity(paths.len());
    for path in paths {
        let text = std::fs::read_to_string(path)
            .map_err(|e| StartError::Other(format!("{}: {e}", path.display())))?;
        let source = SourceFile::new(path.display().to_string(), text)
            .map_err(|e| StartError::Other(e.to_string()))?;
        match crate::compile(&source) {
            Ok(p) => {
                if programs.iter().any(|q| q.workflow == p.workflow) {
                    return Err(StartError::Other(format!(
                        "{}: another workflow file is also named `{}`; runs are kept by workflow name, so each name must be one file's",
                        path.display(),
                        p.workflow
                    )));
                }
                programs.push(p)
            }
            Err(diagnostics) => return Err(StartError::Workflow(source, diagnostics)),
        }
    }
    Ok(programs)
}

/// A workflow version's name: the first 16 hex digits of the SHA-256 of its
/// IR, so any change to the compiled workflow is a new version and the same
/// workflow is the same version on every worker.
fn version_of(ir: &str) -> String {
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(ir.as_bytes());
    hex::encode(&digest[..8])
}

/// Opens the SQLite file or connects to PostgreSQL, as `[server]
/// database` says.
async fn open_db(
    server: &config::ServerSection,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Db, StartError> {
    let database = server.database.to_string_lossy().into_owned();
    if crate::store::db::is_postgres_url(&database) {
        let password = match &server.database_password_env {
            Some(name) => Some(secret(env, name)?),
            None => None,
        };
        let db = Db::open(&database, password.as_deref())
            .await
            .map_err(|e| StartError::Other(format!("the PostgreSQL database: {e}")))?;
        if let Db::Postgres(p) = &db {
            tracing::info!(worker = %p.worker_id(), "connected to PostgreSQL");
        }
        return Ok(db);
    }
    let store = Store::open(&server.database)
        .map_err(|e| StartError::Other(format!("{}: {e}", server.database.display())))?;
    tracing::info!(
        database = %server.database.display(),
        schema_version = crate::store::schema_version(),
        "store opened"
    );
    Ok(Db::Sqlite(store))
}

/// Tells the operator about sends a crash left in doubt: how many, then
/// each one's ledger key. They are never repeated automatically.
async fn report_in_doubt(db: &Db) -> Result<(), StartError> {
    let in_doubt = db
        .in_doubt()
        .await
        .map_err(|e| StartError::Other(e.to_string()))?;
    if in_doubt.is_empty() {
        return Ok(());
    }
    tracing::warn!(
        count = in_doubt.len(),
        "send(s) are in doubt (interrupted between request and answer); they will not be repeated"
    );
    for effect in &in_doubt {
        tracing::info!(
            effect = %effect.key,
            run = effect.run_id,
            begun_at = %effect.created_at,
            "in doubt"
        );
    }
    Ok(())
}

/// Starts the service and runs until `shutdown` turns true. `env` looks up
/// environment variables (so tests can pass secrets without the process
/// env); `ready` is called with the bound address once requests are served.
pub async fn serve(
    config: config::ServeConfig,
    env: &dyn Fn(&str) -> Option<String>,
    shutdown: watch::Receiver<bool>,
    ready: impl FnOnce(std::net::SocketAddr),
) -> Result<(), StartError> {
    let programs = compile_workflows(&config.server.workflows)?;
    let db = open_db(&config.server, env).await?;
    let providers = crate::providers::Providers::new(
        &config.whatsapp.api,
        config.twilio.as_ref().map(|t| &t.api),
        config.sendgrid.as_ref(),
        &config.retry,
        env,
    )
    .map_err(|e| StartError::Other(e.to_string()))?;
    let metrics = Arc::new(metrics::Metrics::default());
    let fail = |e: crate::store::StoreError| StartError::Other(e.to_string());
    let origin = clock_origin(&db).await.map_err(fail)?;
    let clock = clock::ServiceClock::new(config.server.time_scale, origin);
    let host = host::ServeHost::new(
        clock.clone(),
        db.clone(),
        Arc::new(providers),
        &config.server.public_url,
        metrics.clone(),
    );
    let mut engine = Engine::new(host);
    let mut names = Vec::with_capacity(programs.len());
    let mut irs = std::collections::HashMap::new();
    for program in programs {
        let ir = serde_json::to_string(&program).map_err(|e| StartError::Other(e.to_string()))?;
        let version = version_of(&ir);
        db.save_program(&program.workflow, &version, &ir, clock.now())
            .await
            .map_err(fail)?;
        names.push(format!("{} ({version})", program.workflow));
        irs.insert((program.workflow.clone(), version.clone()), ir.into());
        engine
            .load_version(program, version)
            .map_err(|e| StartError::Other(e.to_string()))?;
    }
    tracing::info!(count = names.len(), workflows = ?names, "workflows loaded");
    for (k, v) in &config.custom_values {
        engine.set_custom_value(k.clone(), v.clone());
    }
    // Runs and contacts stay in the store; nothing of them is read here.
    let unstranded = db.unstrand().await.map_err(fail)?;
    if unstranded > 0 {
        tracing::info!(runs = unstranded, "runs set aside before are tried again");
    }
    let run_ids_from = db.run_ids_from().await.map_err(fail)?;
    engine.record_changes();
    // Sends of different runs overlap (see `sends.rs`).
    engine.defer_sends();
    report_in_doubt(&db).await?;
    let processor = processor::Processor {
        engine,
        db: db.clone(),
        programs: irs,
        run_ids_from,
        metrics: metrics.clone(),
    };

    let state = Arc::new(app::AppState {
        db: db.clone(),
        wake: Arc::new(Notify::new()),
        metrics: metrics.clone(),
        meta_app_secret: secret(env, &config.whatsapp.app_secret_env)?.into_bytes(),
        meta_verify_token: secret(env, &config.whatsapp.verify_token_env)?,
        twilio_auth_token: match &config.twilio {
            Some(t) => Some(secret(env, &t.api.auth_token_env)?.into_bytes()),
            None => None,
        },
        email_token: match &config.server.email_token_env {
            Some(name) => Some(secret(env, name)?),
            None => None,
        },
        admin_token: match &config.server.admin_token_env {
            Some(name) => Some(secret(env, name)?),
            None => None,
        },
        public_url: config.server.public_url.trim_end_matches('/').to_owned(),
        clock,
    });
    let listener = tokio::net::TcpListener::bind(&config.server.listen)
        .await
        .map_err(|e| {
            StartError::Other(format!("cannot listen on {}: {e}", config.server.listen))
        })?;
    let addr = listener
        .local_addr()
        .map_err(|e| StartError::Other(e.to_string()))?;
    let retention = config.retention.read().map_err(StartError::Other)?;
    if retention.keep[0].1 < retention::META_RETRIES_SECONDS {
        tracing::warn!(
            inbox = %config.retention.inbox,
            "[retention] inbox is under 7 days: a webhook Meta retries later than that is processed again"
        );
    }
    let pruner = tokio::spawn(retention::run(
        db.clone(),
        state.clock.clone(),
        retention,
        metrics.clone(),
        shutdown.clone(),
    ));
    db.listen(state.wake.clone());
    let processor = tokio::spawn(processor::run(
        processor,
        state.wake.clone(),
        shutdown.clone(),
    ));
    ready(addr);
    let router = app::router(state, config.server.max_body_bytes);
    let mut stop = shutdown;
    axum::serve(listener, router)
        .with_graceful_shutdown(async move {
            let _ = stop.wait_for(|s| *s).await;
        })
        .await
        .map_err(|e| StartError::Other(e.to_string()))?;
    tracing::info!("stopped taking requests; finishing the engine's batch");
    let _ = processor.await;
    let _ = pruner.await;
    if let Err(e) = db.release().await {
        tracing::warn!(error = %e, "could not give the shards back; other workers take them when the leases run out");
    }
    tracing::info!("stopped");
    Ok(())
}
