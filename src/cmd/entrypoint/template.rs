//! The configuration template (`--conf-template`, never modified): read and parsed once at
//! the start, with the state directories it names and the cluster name the node runs with.
//! Read before anything waits: a template that cannot be used ends the boot at once.

use std::path::{Path, PathBuf};

use anyhow::Context;
use serde_json::{Map, Value};
use tracing::warn;

use crate::edge::confdir;
use crate::env;
use crate::render::{self, DataDirs};

/// The template as the boot uses it.
pub(super) struct Template {
    /// The directory it was read from, named in errors about it.
    pub dir: PathBuf,
    /// Its files as read (the rackdc text is rendered from it).
    pub files: confdir::Template,
    /// cassandra.yaml, parsed.
    pub yaml: Map<String, Value>,
    /// The state directories cassandra.yaml names, under `--data-dir`.
    pub dirs: DataDirs,
    /// `Some` overrides the template's name; `None` keeps it.
    pub cluster_name: Option<String>,
    /// The name this node will run with, which every candidate must share.
    pub expected_cluster: Option<String>,
}

/// Reads the template in `dir` and names the cluster: `--cluster-name`
/// (`flag_cluster_name`) or the template's `cluster_name`, and neither is an error.
pub(super) fn read(
    dir: &Path,
    data_dir: &Path,
    flag_cluster_name: Option<String>,
) -> anyhow::Result<Template> {
    let files = confdir::read_template(dir)?;
    let yaml = render::parse_yaml(&files.yaml)
        .with_context(|| format!("{}/cassandra.yaml", dir.display()))?;
    let dirs = render::data_dirs(&yaml, data_dir)
        .with_context(|| format!("{}/cassandra.yaml", dir.display()))?;
    let template_cluster_name = yaml
        .get("cluster_name")
        .and_then(|v| v.as_str())
        .map(str::to_owned);
    // `Some` overrides the template's name; `None` keeps it. `expected_cluster` below is
    // the name this node will run with, which every candidate must share.
    let cluster_name = match flag_cluster_name {
        Some(name) => Some(name),
        None => match template_cluster_name.as_deref() {
            Some(name) => {
                if name == "Test Cluster" {
                    warn!(
                        cluster_name = name,
                        "the template's cluster_name is Cassandra's default: clusters that share it can merge by accident; set --cluster-name"
                    );
                }
                None
            }
            None => anyhow::bail!(
                "no cluster name: set --cluster-name (env {}) or cluster_name in {}/cassandra.yaml. \
                 Without one every node would use Cassandra's default, and unrelated clusters could merge",
                env::CLUSTER_NAME,
                dir.display()
            ),
        },
    };
    let expected_cluster = cluster_name.clone().or(template_cluster_name);
    Ok(Template {
        dir: dir.to_owned(),
        files,
        yaml,
        dirs,
        cluster_name,
        expected_cluster,
    })
}
