//! Structured logs to stderr (stdout is reserved for answers), plain or JSON.

use tracing_subscriber::EnvFilter;

use crate::cli::{LogArgs, LogFormat};
use crate::config::ConfigError;

/// Installs the global subscriber.
pub fn init(args: &LogArgs) -> Result<(), ConfigError> {
    let filter = EnvFilter::try_new(&args.log_level).map_err(|e| {
        ConfigError(format!(
            "invalid --log-level (env {}) value {:?}: {e}; expected e.g. info, debug or ringkeeper=debug,warn",
            crate::env::LOG,
            args.log_level
        ))
    })?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false);
    match args.log_format {
        LogFormat::Plain => builder.init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .init(),
    }
    Ok(())
}
