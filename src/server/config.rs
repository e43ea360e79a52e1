//! `kflow.toml`: what `kflowc serve` runs and where it talks to.
//!
//! Secrets never live in the file: it names the environment variables that
//! hold them, and they are read at start.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::providers::{RetryConfig, SendgridConfig, TwilioConfig, WhatsappConfig};

/// The whole configuration file.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServeConfig {
    /// The service itself.
    pub server: ServerSection,
    /// WhatsApp Cloud API and its webhook.
    pub whatsapp: WhatsappSection,
    /// SMS through a Twilio-compatible API; SMS sends fail without it.
    pub twilio: Option<TwilioSection>,
    /// Email through a SendGrid-compatible API; email sends fail without it.
    pub sendgrid: Option<SendgridConfig>,
    /// Retries of provider calls.
    #[serde(default)]
    pub retry: RetryConfig,
    /// Account custom values (`{{custom_values.key}}`).
    #[serde(default)]
    pub custom_values: BTreeMap<String, String>,
    /// How long processed events, completed sends, statuses and expired
    /// links are kept.
    #[serde(default)]
    pub retention: super::retention::RetentionSection,
}

/// `[server]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSection {
    /// Address to listen on, such as `127.0.0.1:8080`.
    #[serde(default = "default_listen")]
    pub listen: String,
    /// The base URL the world reaches this service at; tracking links and
    /// Twilio signatures use it.
    pub public_url: String,
    /// The SQLite database file (created on first start), or the URL of a
    /// PostgreSQL database (`postgres://user@host:port/db`) that several
    /// workers share.
    pub database: PathBuf,
    /// The environment variable holding the PostgreSQL password, when the
    /// URL does not carry one.
    pub database_password_env: Option<String>,
    /// The `.kflow` files to run (relative to the config file).
    pub workflows: Vec<PathBuf>,
    /// The largest request body accepted, in bytes (Meta sends up to 3 MB).
    #[serde(default = "default_max_body")]
    pub max_body_bytes: usize,
    /// Runs workflow time this many times faster than the wall clock; for
    /// tests and demonstrations only.
    #[serde(default = "default_scale")]
    pub time_scale: f64,
    /// The environment variable holding the inbound-email webhook's bearer
    /// token; the endpoint is off without it.
    pub email_token_env: Option<String>,
    /// The environment variable holding the admin API's bearer token
    /// (`PUT /api/contacts/{id}`); the API is off without it.
    pub admin_token_env: Option<String>,
}

/// `[whatsapp]`: the Cloud API client and the webhook's secrets.
#[derive(Clone, Debug, Deserialize)]
pub struct WhatsappSection {
    /// The API client.
    #[serde(flatten)]
    pub api: WhatsappConfig,
    /// Environment variable with the Meta app secret (webhook signatures).
    #[serde(default = "default_app_secret_env")]
    pub app_secret_env: String,
    /// Environment variable with the webhook verify token (GET handshake).
    #[serde(default = "default_verify_token_env")]
    pub verify_token_env: String,
    /// Keys neither this section nor the client knows (typos); refused by
    /// [`ServeConfig::load`]. (`deny_unknown_fields` does not work with
    /// `flatten`.)
    #[serde(flatten)]
    pub unknown: BTreeMap<String, toml::Value>,
}

/// `[twilio]`: the SMS client; its auth token also verifies Twilio's webhooks.
#[derive(Clone, Debug, Deserialize)]
pub struct TwilioSection {
    /// The API client.
    #[serde(flatten)]
    pub api: TwilioConfig,
    /// Keys the client does not know (typos); refused by
    /// [`ServeConfig::load`].
    #[serde(flatten)]
    pub unknown: BTreeMap<String, toml::Value>,
}

fn default_listen() -> String {
    "127.0.0.1:8080".to_owned()
}

fn default_max_body() -> usize {
    3 * 1024 * 1024
}

fn default_scale() -> f64 {
    1.0
}

fn default_app_secret_env() -> String {
    "WHATSAPP_APP_SECRET".to_owned()
}

fn default_verify_token_env() -> String {
    "WHATSAPP_VERIFY_TOKEN".to_owned()
}

impl ServeConfig {
    /// Reads and parses a config file; relative paths in it are made
    /// relative to the file's directory.
    pub fn load(path: &Path) -> Result<ServeConfig, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let mut config: ServeConfig =
            toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        let base = path.parent().unwrap_or(Path::new("."));
        let rebase = |p: &mut PathBuf| {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        };
        let unknown: Vec<String> = (config.whatsapp.unknown.keys())
            .map(|k| format!("whatsapp.{k}"))
            .chain(
                config
                    .twilio
                    .iter()
                    .flat_map(|t| t.unknown.keys().map(|k| format!("twilio.{k}"))),
            )
            .collect();
        config
            .retention
            .read()
            .map_err(|e| format!("{}: {e}", path.display()))?;
        if !unknown.is_empty() {
            return Err(format!(
                "{}: unknown key(s) {}",
                path.display(),
                unknown.join(", ")
            ));
        }
        // A PostgreSQL URL is not a path relative to the config file.
        let is_url = config
            .server
            .database
            .to_str()
            .is_some_and(crate::store::db::is_postgres_url);
        if !is_url {
            rebase(&mut config.server.database);
        }
        config.server.workflows.iter_mut().for_each(rebase);
        if config.server.workflows.is_empty() {
            return Err(format!(
                "{}: `server.workflows` lists no workflow",
                path.display()
            ));
        }
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn misspelt_keys_in_flattened_sections_are_refused() {
        let dir = std::env::temp_dir().join(format!("kflow-config-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("kflow.toml");
        let base = "[server]\npublic_url = \"https://x\"\ndatabase = \"k.db\"\nworkflows = [\"a.kflow\"]\n";
        std::fs::write(&path, format!("{base}[whatsapp]\nphone_number_id = \"P\"\nmessages_per_second = 5\napp_secret_env = \"S\"\n[twilio]\naccount_sid = \"AC\"\nfrom = \"+1\"\n")).expect("write");
        let ok = ServeConfig::load(&path).expect("valid");
        assert_eq!(ok.whatsapp.api.messages_per_second, 5);
        assert_eq!(ok.whatsapp.app_secret_env, "S");
        assert_eq!(
            ok.twilio.as_ref().map(|t| t.api.account_sid.as_str()),
            Some("AC")
        );
        std::fs::write(&path, format!("{base}[whatsapp]\nphone_number_id = \"P\"\nmessages_per_secnd = 5\n[twilio]\naccount_sid = \"AC\"\nform = \"+1\"\n")).expect("write");
        let err = ServeConfig::load(&path).expect_err("typos");
        assert!(
            err.contains("whatsapp.messages_per_secnd") && err.contains("twilio.form"),
            "{err}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn retention_defaults_and_mistakes() {
        let dir = std::env::temp_dir().join(format!("kflow-retention-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("kflow.toml");
        let base = "[server]\npublic_url = \"https://x\"\ndatabase = \"k.db\"\nworkflows = [\"a.kflow\"]\n[whatsapp]\nphone_number_id = \"P\"\n";
        std::fs::write(&path, base).expect("write");
        let read = ServeConfig::load(&path)
            .expect("valid")
            .retention
            .read()
            .expect("defaults read");
        assert_eq!(read.keep.map(|(_, s)| s), [30 * 86_400; 5]);
        assert_eq!((read.every, read.batch), (600, 500));
        for (section, names) in [
            ("inbox = \"30 days\"", "[retention] inbox = \"30 days\""),
            ("links = \"0s\"", "[retention] links must be more than zero"),
            ("batch = 0", "[retention] batch must be at least 1"),
            ("inbx = \"1d\"", "unknown field `inbx`"),
        ] {
            std::fs::write(&path, format!("{base}[retention]\n{section}\n")).expect("write");
            let err = ServeConfig::load(&path).expect_err(section);
            assert!(err.contains(names), "{section}: {err}");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
