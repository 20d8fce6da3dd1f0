//! `backup restore-table`: one table back on this node, online, from this pod's part of a
//! backup: the table created from the backup's schema when it was dropped (only when
//! asked: two pods creating it at once could give it two IDs), its files downloaded into a
//! staging directory on the volume and checked, then loaded with `nodetool import` (which
//! moves them in under new generations and rebuilds the table's indexes); no restart.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::json;
use tracing::info;

use crate::config::BackupTableConfig;
use crate::decide::backup::layout;
use crate::decide::backup::manifest::Manifest;
use crate::decide::backup::{table, verify};
use crate::edge::store::Store;
use crate::edge::{cql, nodetool};
use crate::exit::Outcome;

/// Bound on connecting to the local node and on each CQL request (a schema change waits
/// for the ring to agree).
const CQL_LOOK: Duration = Duration::from_secs(30);
/// Bound on `nodetool import`.
const IMPORT_LIMIT: Duration = Duration::from_secs(3600);
/// Where the table's files are put before the import, on the data volume.
const STAGING: &str = ".ringkeeper-import";

pub(super) async fn run(store: &Store, cfg: &BackupTableConfig) -> anyhow::Result<Outcome> {
    let started = Instant::now();
    let (keyspace, name) = (&cfg.table.0, &cfg.table.1);
    let refused = |why: String| Outcome::Refused {
        stdout: None,
        reason: format!("restore of {keyspace}.{name} refused: {why}"),
    };
    let node = &cfg.node;
    let Some(bytes) = store
        .read(&layout::member_key(&cfg.name, &node.pod))
        .await?
    else {
        return Ok(refused(format!(
            "backup {} has no complete part for pod {} (`ringkeeper backup status {}` shows its parts)",
            cfg.name, node.pod, cfg.name
        )));
    };
    let manifest: Manifest = serde_json::from_slice(&bytes)?;
    let settings = cql::load_settings(node.cql.port, CQL_LOOK, CQL_LOOK, &node.cql.access)?;
    let local = cql::connect(node.host, &settings).await?;
    if !local.table_exists(keyspace, name).await? {
        if !cfg.create_table {
            return Ok(refused(format!(
                "the table is gone: give --create-table in one pod to create it from backup {}'s \
                 schema, then run this in every pod",
                cfg.name
            )));
        }
        let Some(statement) = table::create_statement(&manifest.schema_cql, keyspace, name) else {
            return Ok(refused(format!(
                "backup {}'s schema has no table {keyspace}.{name} (nor, then, its files)",
                cfg.name
            )));
        };
        local.schema_statement(&statement).await?;
        info!(table = %format!("{keyspace}.{name}"), "table created from the backup's schema");
    }
    drop(local);

    let files = table::files(&manifest, keyspace, name);
    let staging = node.data_dir.join(STAGING).join(keyspace).join(name);
    if staging.exists() {
        std::fs::remove_dir_all(&staging)?;
    }
    std::fs::create_dir_all(&staging)?;
    let mut found = BTreeMap::new();
    for file in &files {
        let file_name = file.path.rsplit('/').next().unwrap_or(&file.path);
        let got = store
            .download(&layout::blob_key(&file.sha256), &staging.join(file_name))
            .await?;
        found.insert(file.sha256.clone(), got);
    }
    let owned: Vec<_> = files.iter().map(|f| (*f).clone()).collect();
    let problems = verify::check(&node.pod, &owned, &found);
    if !problems.is_empty() {
        let _ = std::fs::remove_dir_all(&staging);
        let list: Vec<String> = problems.iter().map(ToString::to_string).collect();
        return Ok(refused(format!("nothing loaded: {}", list.join("; "))));
    }
    let bytes: u64 = files.iter().map(|f| f.size).sum();
    if !files.is_empty() {
        let dir = staging.to_string_lossy().into_owned();
        let result =
            nodetool::run(&node.jmx, &["import", keyspace, name, &dir], IMPORT_LIMIT).await;
        let _ = std::fs::remove_dir_all(&staging);
        result?;
    } else {
        let _ = std::fs::remove_dir_all(&staging);
    }
    info!(table = %format!("{keyspace}.{name}"), files = files.len(), bytes, "table restored");
    let summary = json!({
        "backup": cfg.name,
        "pod": node.pod,
        "table": format!("{keyspace}.{name}"),
        "files": files.len(),
        "bytes": bytes,
        "duration_ms": started.elapsed().as_millis() as u64,
    });
    Ok(Outcome::Answer(serde_json::to_string(&summary)?))
}
