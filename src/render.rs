//! Pure. Renders Cassandra's configuration files from a template and the decisions made.
//!
//! The template (the image's `/etc/cassandra`, often a read-only ConfigMap) is never
//! edited: the caller writes the output to a separate directory. Only the keys ringkeeper
//! owns are changed; every other setting passes through as the operator wrote it.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};

/// The seed provider ringkeeper configures: it reads the `seeds` parameter we render.
pub const SEED_PROVIDER: &str = "org.apache.cassandra.locator.SimpleSeedProvider";
/// The snitch that reads `cassandra-rackdc.properties`; DC and rack do nothing without it.
pub const SNITCH: &str = "GossipingPropertyFileSnitch";

/// Keys ringkeeper sets in `cassandra.yaml`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlSettings {
    /// `cluster_name`; `None` keeps the template's.
    pub cluster_name: Option<String>,
    /// The seed addresses (never empty).
    pub seeds: Vec<IpAddr>,
    /// The pod IP: listen, broadcast, rpc and broadcast_rpc address.
    pub pod_ip: IpAddr,
    /// Where Cassandra keeps its state.
    pub dirs: DataDirs,
}

/// Cassandra's state directories, all on the data volume.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataDirs {
    /// `data_file_directories`.
    pub data: Vec<PathBuf>,
    /// `commitlog_directory`.
    pub commitlog: PathBuf,
    /// `hints_directory`.
    pub hints: PathBuf,
    /// `saved_caches_directory`.
    pub saved_caches: PathBuf,
    /// `cdc_raw_directory`: always rendered (Cassandra's default follows
    /// `cassandra.storagedir`, which may lie off the volume).
    pub cdc_raw: PathBuf,
    /// `local_system_data_file_directory` (4.1+), only where the template sets it: the
    /// system keyspaces then live there, not in `data_file_directories`.
    pub local_system: Option<PathBuf>,
}

impl DataDirs {
    /// Every directory, each with the key that sets it.
    pub fn all(&self) -> Vec<(&'static str, &Path)> {
        let mut all: Vec<(&'static str, &Path)> = self
            .data
            .iter()
            .map(|d| ("data_file_directories", d.as_path()))
            .collect();
        all.extend([
            ("commitlog_directory", self.commitlog.as_path()),
            ("hints_directory", self.hints.as_path()),
            ("saved_caches_directory", self.saved_caches.as_path()),
            ("cdc_raw_directory", self.cdc_raw.as_path()),
        ]);
        if let Some(local) = &self.local_system {
            all.push(("local_system_data_file_directory", local.as_path()));
        }
        all
    }
}

/// Why a template could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// Not YAML.
    #[error("is not valid YAML: {0}")]
    Parse(String),
    /// YAML, but not a mapping at the top.
    #[error("must be a YAML mapping of settings at the top level")]
    NotAMapping,
    /// A directory key has the wrong type.
    #[error("{key} must be {expected}")]
    BadType {
        /// The key.
        key: &'static str,
        /// What it should be.
        expected: &'static str,
    },
    /// A state directory lies outside the data volume.
    #[error(
        "{key} is {path:?}, which is outside the data directory {data_dir:?} (or climbs out of \
         it with `..`): data written \
         there would not survive the pod. Remove the key from the template (ringkeeper then \
         puts it under the data directory) or point --data-dir at the volume that holds it"
    )]
    OutsideDataDir {
        /// The key.
        key: &'static str,
        /// Its value.
        path: PathBuf,
        /// The data directory.
        data_dir: PathBuf,
    },
    /// Could not serialize.
    #[error("could not be written as YAML: {0}")]
    Emit(String),
}

/// Parses a `cassandra.yaml` template into its top-level mapping.
pub fn parse_yaml(text: &str) -> Result<Map<String, Value>, RenderError> {
    // An empty file is a valid (empty) template.
    if text.trim().is_empty() {
        return Ok(Map::new());
    }
    let value: Value =
        serde_saphyr::from_str(text).map_err(|e| RenderError::Parse(e.to_string()))?;
    match value {
        Value::Object(map) => Ok(map),
        Value::Null => Ok(Map::new()),
        _ => Err(RenderError::NotAMapping),
    }
}

/// The effective state directories: the template's, if set, which must lie under the data
/// directory; otherwise Cassandra's usual layout under it. Refusing a directory outside
/// the volume avoids the failure where data silently lives on the container's disk.
pub fn data_dirs(template: &Map<String, Value>, data_dir: &Path) -> Result<DataDirs, RenderError> {
    let single = |key: &'static str, default: &str| -> Result<PathBuf, RenderError> {
        match template.get(key) {
            None | Some(Value::Null) => Ok(data_dir.join(default)),
            Some(Value::String(s)) => under(key, PathBuf::from(s), data_dir),
            Some(_) => Err(RenderError::BadType {
                key,
                expected: "a path",
            }),
        }
    };
    let data = match template.get("data_file_directories") {
        None | Some(Value::Null) => vec![data_dir.join("data")],
        Some(Value::Array(items)) if !items.is_empty() => items
            .iter()
            .map(|item| match item {
                Value::String(s) => under("data_file_directories", PathBuf::from(s), data_dir),
                _ => Err(RenderError::BadType {
                    key: "data_file_directories",
                    expected: "a list of paths",
                }),
            })
            .collect::<Result<_, _>>()?,
        Some(_) => {
            return Err(RenderError::BadType {
                key: "data_file_directories",
                expected: "a non-empty list of paths",
            });
        }
    };
    Ok(DataDirs {
        data,
        commitlog: single("commitlog_directory", "commitlog")?,
        hints: single("hints_directory", "hints")?,
        saved_caches: single("saved_caches_directory", "saved_caches")?,
        cdc_raw: single("cdc_raw_directory", "cdc_raw")?,
        local_system: match template.get("local_system_data_file_directory") {
            None | Some(Value::Null) => None,
            Some(_) => Some(single("local_system_data_file_directory", "")?),
        },
    })
}

fn under(key: &'static str, path: PathBuf, data_dir: &Path) -> Result<PathBuf, RenderError> {
    // Judged by its spelling here (no `..` may climb out); the clear of a decommissioned
    // volume also checks the real path (`edge::datadir::within_volume`).
    if crate::decide::decommissioned::is_plain_absolute(&path) && path.starts_with(data_dir) {
        Ok(path)
    } else {
        Err(RenderError::OutsideDataDir {
            key,
            path,
            data_dir: data_dir.to_owned(),
        })
    }
}

/// Keys whose template value was replaced, for the log.
pub type Overrides = Vec<(String, Value)>;

/// Renders `cassandra.yaml`: the template with ringkeeper's keys set. Returns the text and
/// the template values that were overridden (so the log can say what changed).
pub fn render_yaml(
    mut map: Map<String, Value>,
    settings: &YamlSettings,
) -> Result<(String, Overrides), RenderError> {
    let mut overridden = Overrides::new();
    let set =
        |map: &mut Map<String, Value>, key: &str, value: Value, overridden: &mut Overrides| {
            if let Some(old) = map.insert(key.to_owned(), value.clone())
                && old != value
                && !old.is_null()
            {
                overridden.push((key.to_owned(), old));
            }
        };

    if let Some(name) = &settings.cluster_name {
        set(&mut map, "cluster_name", json!(name), &mut overridden);
    }
    let seeds = settings
        .seeds
        .iter()
        .map(IpAddr::to_string)
        .collect::<Vec<_>>()
        .join(",");
    set(
        &mut map,
        "seed_provider",
        json!([{ "class_name": SEED_PROVIDER, "parameters": [{ "seeds": seeds }] }]),
        &mut overridden,
    );
    let ip = settings.pod_ip.to_string();
    for key in [
        "listen_address",
        "broadcast_address",
        "rpc_address",
        "broadcast_rpc_address",
    ] {
        set(&mut map, key, json!(ip), &mut overridden);
    }
    // Cassandra refuses an address and an interface for the same purpose at once.
    for key in ["listen_interface", "rpc_interface"] {
        if let Some(old) = map.shift_remove(key) {
            overridden.push((key.to_owned(), old));
        }
    }
    set(&mut map, "endpoint_snitch", json!(SNITCH), &mut overridden);
    let dirs = &settings.dirs;
    set(
        &mut map,
        "data_file_directories",
        json!(
            dirs.data
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
        ),
        &mut overridden,
    );
    set(
        &mut map,
        "commitlog_directory",
        json!(dirs.commitlog.display().to_string()),
        &mut overridden,
    );
    set(
        &mut map,
        "hints_directory",
        json!(dirs.hints.display().to_string()),
        &mut overridden,
    );
    set(
        &mut map,
        "saved_caches_directory",
        json!(dirs.saved_caches.display().to_string()),
        &mut overridden,
    );
    set(
        &mut map,
        "cdc_raw_directory",
        json!(dirs.cdc_raw.display().to_string()),
        &mut overridden,
    );
    if let Some(local) = &dirs.local_system {
        set(
            &mut map,
            "local_system_data_file_directory",
            json!(local.display().to_string()),
            &mut overridden,
        );
    }

    let text = serde_saphyr::to_string(&Value::Object(map))
        .map_err(|e| RenderError::Emit(e.to_string()))?;
    Ok((
        format!(
            "# Rendered by ringkeeper from the template; edit the template, not this file.\n{text}"
        ),
        overridden,
    ))
}

/// Renders `cassandra-rackdc.properties`: the template's lines with `dc` and `rack` set.
pub fn render_rackdc(template: &str, dc: &str, rack: &str) -> String {
    let mut out = String::from("# Rendered by ringkeeper.\n");
    for line in template.lines() {
        let key = line.split(['=', ':']).next().unwrap_or_default().trim();
        if key != "dc" && key != "rack" && !line.trim().is_empty() {
            out.push_str(line);
            out.push('\n');
        }
    }
    out.push_str(&format!("dc={dc}\nrack={rack}\n"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEMPLATE: &str = "\
# a comment
cluster_name: 'Test Cluster'
num_tokens: 16
seed_provider:
  - class_name: org.apache.cassandra.locator.SimpleSeedProvider
    parameters:
      - seeds: \"127.0.0.1:7000\"
listen_address: localhost
rpc_interface: eth0
commitlog_sync_period: 10000ms
concurrent_reads: 32
enable_user_defined_functions: false
memtable:
  configurations:
    default:
      inherits: skiplist
";

    fn settings() -> YamlSettings {
        YamlSettings {
            cluster_name: Some("prod".into()),
            seeds: vec!["10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap()],
            pod_ip: "10.0.0.3".parse().unwrap(),
            dirs: data_dirs(&Map::new(), Path::new("/var/lib/cassandra")).unwrap(),
        }
    }

    #[test]
    fn renders_owned_keys_and_keeps_the_rest() {
        let (text, overridden) = render_yaml(parse_yaml(TEMPLATE).unwrap(), &settings()).unwrap();
        let back = parse_yaml(&text).unwrap();
        assert_eq!(back["cluster_name"], json!("prod"));
        assert_eq!(
            back["seed_provider"][0]["parameters"][0]["seeds"],
            json!("10.0.0.1,10.0.0.2")
        );
        assert_eq!(back["seed_provider"][0]["class_name"], json!(SEED_PROVIDER));
        for key in [
            "listen_address",
            "broadcast_address",
            "rpc_address",
            "broadcast_rpc_address",
        ] {
            assert_eq!(back[key], json!("10.0.0.3"), "{key}");
        }
        assert!(back.get("rpc_interface").is_none());
        assert_eq!(back["endpoint_snitch"], json!(SNITCH));
        assert_eq!(
            back["data_file_directories"],
            json!(["/var/lib/cassandra/data"])
        );
        assert_eq!(
            back["commitlog_directory"],
            json!("/var/lib/cassandra/commitlog")
        );
        // Untouched settings keep their values and types.
        assert_eq!(back["num_tokens"], json!(16));
        assert_eq!(back["commitlog_sync_period"], json!("10000ms"));
        assert_eq!(back["enable_user_defined_functions"], json!(false));
        assert_eq!(
            back["memtable"]["configurations"]["default"]["inherits"],
            json!("skiplist")
        );
        let keys: Vec<&str> = overridden.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            keys,
            [
                "cluster_name",
                "seed_provider",
                "listen_address",
                "rpc_interface"
            ]
        );
    }

    #[test]
    fn strings_that_look_like_other_types_stay_strings() {
        let mut s = settings();
        s.cluster_name = Some("true".into());
        let (text, _) =
            render_yaml(parse_yaml("cluster_name: x\nkey: 'yes'\n").unwrap(), &s).unwrap();
        let back = parse_yaml(&text).unwrap();
        assert_eq!(back["cluster_name"], json!("true"));
        assert_eq!(back["key"], json!("yes"));
    }

    #[test]
    fn template_cluster_name_is_kept_when_not_given() {
        let mut s = settings();
        s.cluster_name = None;
        let (text, _) = render_yaml(parse_yaml(TEMPLATE).unwrap(), &s).unwrap();
        assert_eq!(
            parse_yaml(&text).unwrap()["cluster_name"],
            json!("Test Cluster")
        );
    }

    #[test]
    fn bad_templates() {
        assert!(matches!(
            parse_yaml("[1, 2]"),
            Err(RenderError::NotAMapping)
        ));
        assert!(matches!(parse_yaml("a: [1"), Err(RenderError::Parse(_))));
        assert!(parse_yaml("").unwrap().is_empty());
        assert!(parse_yaml("# only comments\n").unwrap().is_empty());
    }

    #[test]
    fn data_dirs_must_be_on_the_volume() {
        let root = Path::new("/var/lib/cassandra");
        let dirs = data_dirs(
            &parse_yaml("data_file_directories: [/var/lib/cassandra/d1, /var/lib/cassandra/d2]\nhints_directory: /var/lib/cassandra/h\n").unwrap(),
            root,
        )
        .unwrap();
        assert_eq!(dirs.data, [root.join("d1"), root.join("d2")]);
        assert_eq!(dirs.hints, root.join("h"));
        assert_eq!(dirs.commitlog, root.join("commitlog"));
        assert_eq!(dirs.cdc_raw, root.join("cdc_raw"));
        assert_eq!(dirs.local_system, None);
        let local = data_dirs(
            &parse_yaml(
                "local_system_data_file_directory: /var/lib/cassandra/sys
",
            )
            .unwrap(),
            root,
        )
        .unwrap();
        assert_eq!(local.local_system, Some(root.join("sys")));
        assert_eq!(local.all().len(), 6);
        for bad in [
            "commitlog_directory: /var/lib/cassandra/../etc",
            "cdc_raw_directory: /var/lib/cassandra/../../cdc",
            "cdc_raw_directory: /elsewhere/cdc",
            "local_system_data_file_directory: /elsewhere/sys",
            "commitlog_directory: /cassandra_data/commitlog",
            "data_file_directories: [/var/lib/cassandra/d1, /tmp/d2]",
            "saved_caches_directory: relative/path",
            "data_file_directories: /var/lib/cassandra/data",
            "data_file_directories: []",
            "hints_directory: 3",
        ] {
            assert!(data_dirs(&parse_yaml(bad).unwrap(), root).is_err(), "{bad}");
        }
    }

    #[test]
    fn rackdc() {
        assert_eq!(
            render_rackdc("dc=dc1\nrack=rack1\nprefer_local=true\n# c\n", "east", "r2"),
            "# Rendered by ringkeeper.\nprefer_local=true\n# c\ndc=east\nrack=r2\n"
        );
        assert_eq!(
            render_rackdc("", "d", "r"),
            "# Rendered by ringkeeper.\ndc=d\nrack=r\n"
        );
    }
}
