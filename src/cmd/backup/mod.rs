//! `ringkeeper backup`: this node's part of a backup (`create`), and what the store holds
//! (`show`: list, status, verify). The rules are in `decide::backup`; the store and the
//! snapshot's files are edges (`edge::store`, `edge::snapshot`).

mod create;
mod prune;
mod show;
mod table;

use crate::config::{BackupAction, BackupConfig};
use crate::edge::store;
use crate::exit::Outcome;

/// Runs one `backup` subcommand.
pub async fn run(cfg: BackupConfig) -> anyhow::Result<Outcome> {
    let store = store::open(&cfg.store)?;
    match cfg.action {
        BackupAction::Create(create) => create::run(&store, &create).await,
        BackupAction::List(format) => show::list(&store, format).await,
        BackupAction::Status(name, format) => show::status(&store, &name, format).await,
        BackupAction::Verify(name, format) => show::verify(&store, &name, format).await,
        BackupAction::Prune(rules) => prune::run(&store, &rules).await,
        BackupAction::RestoreTable(table) => table::run(&store, &table).await,
        BackupAction::Request(name, pods) => request(&store, name, pods).await,
    }
}

/// Now, in Unix seconds.
fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// Writes a request for a backup of the set (`decide::backup::manifest::Request`).
async fn request(
    store: &store::Store,
    name: Option<String>,
    pods: Vec<String>,
) -> anyhow::Result<Outcome> {
    use crate::decide::backup::layout;
    use crate::decide::backup::manifest::Request;
    let requested_at = unix_now();
    let name = name.unwrap_or_else(|| layout::scheduled_name(requested_at));
    if !store.keys(&layout::backup_prefix(&name)).await?.is_empty() {
        return Ok(Outcome::Refused {
            stdout: None,
            reason: format!("a backup named {name} exists already: give the new one another name"),
        });
    }
    let request = Request {
        backup: name,
        requested_at,
        pods,
    };
    let text = serde_json::to_string(&request)?;
    store
        .write(
            &layout::request_key(&request.backup),
            text.clone().into_bytes(),
        )
        .await?;
    Ok(Outcome::Answer(text))
}
