//! The manifests, the image and ringkeeper agree.
//!
//! `kubectl apply -k manifests/` runs the image of image/Dockerfile with the StatefulSet's
//! command, probes and preStop hook, as the user the image was built for, with environment
//! variables ringkeeper must read, volumes wherever ringkeeper and Cassandra write, and the
//! API permissions ringkeeper uses. Each is a promise between two files. This test reads
//! the files as data (no cluster, no Cassandra, no kustomize) and checks every promise,
//! naming the file and the field when one is broken. What is expected is in the tables
//! below; ringkeeper's side (environment variable names, flag defaults, subcommands) is
//! read from src/env.rs and src/cli.rs.
//!
//! The base (manifests/base) is checked on its own, and each overlay as the base plus the
//! overlay's own objects (its patches are partial objects: their env, mounts and volumes
//! are added to the base's, as kustomize would).

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;

// === What is expected ===

/// The StatefulSet's container that runs ringkeeper (and, under it, Cassandra).
const CONTAINER: &str = "cassandra";

/// The image the StatefulSet runs, built from image/Dockerfile and tagged with the
/// Dockerfile's default CASSANDRA_VERSION.
const IMAGE_NAME: &str = "ringkeeper-cassandra";

/// The official image's users and groups by name, from docker-library/cassandra's
/// Dockerfile (`groupadd -r cassandra --gid=999; useradd -r -g cassandra --uid=999
/// cassandra`), to compare a Dockerfile `USER` given by name with runAsUser/runAsGroup.
const IMAGE_IDS: &[(&str, u64)] = &[("cassandra", 999)];

/// A probe or hook of the container: where it is, the ringkeeper subcommand it must run,
/// and the flag (its constant in src/env.rs) bounding that subcommand's own run, which a
/// probe's timeoutSeconds must exceed (a probe killed by the kubelet says nothing; one
/// that gives up by itself says why).
struct Hook {
    field: &'static [&'static str],
    subcommand: &'static str,
    own_timeout: Option<&'static str>,
}

const HOOKS: &[Hook] = &[
    Hook {
        field: &["readinessProbe"],
        subcommand: "ready",
        own_timeout: Some("READY_TIMEOUT"),
    },
    Hook {
        field: &["startupProbe"],
        subcommand: "alive",
        own_timeout: Some("ALIVE_TIMEOUT"),
    },
    Hook {
        field: &["livenessProbe"],
        subcommand: "alive",
        own_timeout: Some("ALIVE_TIMEOUT"),
    },
    // Bounded by the grace period instead (grace_period_bounds_the_shutdown).
    Hook {
        field: &["lifecycle", "preStop"],
        subcommand: "drain",
        own_timeout: None,
    },
];

/// Being added to ringkeeper by changes in flight: accepted as if src/ had them already.
/// Each entry leaves its list when it lands (the test says when).
const PENDING_ENV: &[&str] = &[];
const PENDING_SUBCOMMANDS: &[&str] = &[];

/// Environment variables ringkeeper does not read but the manifests may set, and why.
const NOT_FOR_RINGKEEPER: &[(&str, &str)] = &[(
    "HOME",
    "where cqlsh and nodetool keep their history (the image's user has no home directory)",
)];

/// Prefixes of the variables ringkeeper owns or reads: a name with one of them that
/// ringkeeper does not know is a typo or a setting that does nothing.
const RINGKEEPER_PREFIXES: &[&str] = &["RINGKEEPER_", "POD_", "CASSANDRA_"];

/// Where ringkeeper and Cassandra write, each of which must be on a writable volume (the
/// root filesystem is read-only).
enum Written {
    /// A ringkeeper flag's directory (its constant in src/env.rs): the manifest's value
    /// when the variable is set, else the default in src/cli.rs.
    Flag(&'static str),
    /// A fixed path.
    Path(&'static str),
}

const WRITTEN: &[(Written, &str)] = &[
    (
        Written::Flag("DATA_DIR"),
        "Cassandra's state and ringkeeper's join record",
    ),
    (
        Written::Flag("RUN_DIR"),
        "Cassandra's PID record and the drain marker",
    ),
    (Written::Flag("CONF_OUT"), "the rendered configuration"),
    (Written::Path("/tmp"), "the JVM's temporary files"),
    (
        Written::Path("/var/log/cassandra"),
        "Cassandra's logs (the image's /opt/cassandra/logs points there)",
    ),
];

/// An RBAC rule as (API group, resource, verbs, resource names: empty for any).
type Rule = (
    &'static str,
    &'static str,
    &'static [&'static str],
    &'static [&'static str],
);

/// The Role: exactly what ringkeeper's API calls need, in the pods' namespace.
const ROLE_RULES: &[Rule] = &[
    // its own pod (node name, uid for Events); the set's pods by name for `status`
    ("", "pods", &["get"], &[]),
    // spec.replicas
    ("apps", "statefulsets", &["get"], &[]),
    // lifecycle Events; patch when an Event repeats
    ("events.k8s.io", "events", &["create", "patch"], &[]),
    // the identity record, that one ConfigMap only (shipped in identity.yaml: no create)
    ("", "configmaps", &["get", "patch"], &["cassandra-identity"]),
];

/// The optional ClusterRole: the node's region and zone labels, for DC and rack.
const NODE_TOPOLOGY_RULES: &[Rule] = &[("", "nodes", &["get"], &[])];

// === The checks ===

#[test]
fn image_runs_what_the_statefulset_runs() {
    let docker = Dockerfile::read();
    let base = Deployment::base();
    let (file, container) = base.container();
    let where_ = |field: &str| format!("{file}: containers[{CONTAINER}].{field}");

    let run: Vec<Value> = [&docker.entrypoint, &docker.cmd]
        .into_iter()
        .flatten()
        .flatten()
        .cloned()
        .collect();
    let spec: Vec<Value> = [at(container, &["command"]), at(container, &["args"])]
        .into_iter()
        .flatten()
        .flat_map(|v| v.as_array().cloned().unwrap_or_default())
        .collect();
    assert_eq!(
        spec,
        run,
        "{} + args must be what image/Dockerfile runs (ENTRYPOINT + CMD)",
        where_("command")
    );

    let tag = format!(
        "{IMAGE_NAME}:{}",
        docker
            .global_args
            .get("CASSANDRA_VERSION")
            .map_or("", String::as_str)
    );
    assert_eq!(
        at(container, &["image"]).and_then(Value::as_str),
        Some(tag.as_str()),
        "{} must be the image image/Dockerfile builds by default",
        where_("image")
    );

    let user = docker
        .user
        .as_deref()
        .expect("image/Dockerfile: the final stage sets no USER (it would run as root)");
    let (uid, gid) = resolve_user(user);
    let security = |key: &str| {
        at(container, &["securityContext", key])
            .or_else(|| at(base.pod_spec(), &["securityContext", key]))
            .and_then(Value::as_u64)
    };
    assert_eq!(
        security("runAsUser"),
        Some(uid),
        "{file}: runAsUser must be image/Dockerfile's USER {user} (uid {uid})"
    );
    assert_eq!(
        security("runAsGroup"),
        Some(gid),
        "{file}: runAsGroup must be image/Dockerfile's USER {user} (gid {gid})"
    );
}

#[test]
fn grace_period_bounds_the_shutdown() {
    let ringkeeper = Ringkeeper::read();
    let base = Deployment::base();
    let (file, _) = base.container();
    let grace = at(base.pod_spec(), &["terminationGracePeriodSeconds"])
        .and_then(Value::as_f64)
        .unwrap_or_else(|| panic!("{file}: terminationGracePeriodSeconds is not set (the 30 s default is too short for a drain)"));
    let env = base.env();

    let (name, value) = ringkeeper.setting("GRACE_PERIOD", &env);
    assert!(
        env.contains_key(&name),
        "{file}: {name} is not set; it must equal terminationGracePeriodSeconds ({grace})"
    );
    assert_eq!(
        seconds(&value),
        grace,
        "{file}: {name} ({value}) must equal terminationGracePeriodSeconds ({grace}): \
         the drain and the entrypoint plan within it"
    );
    let (margin_name, margin) = ringkeeper.setting("EXIT_MARGIN", &env);
    assert!(
        seconds(&margin) < grace,
        "{file}: {margin_name} ({margin}) leaves the drain no time within the grace period ({grace} s)"
    );
}

#[test]
fn probes_run_ringkeeper_within_their_timeouts() {
    let ringkeeper = Ringkeeper::read();
    let base = Deployment::base();
    let (file, container) = base.container();
    let env = base.env();
    for hook in HOOKS {
        let field = hook.field.join(".");
        let where_ = format!("{file}: containers[{CONTAINER}].{field}");
        let spec = at(container, hook.field).unwrap_or_else(|| panic!("{where_} is not set"));
        let command = at(spec, &["exec", "command"])
            .and_then(Value::as_array)
            .unwrap_or_else(|| panic!("{where_}.exec.command is not set"));
        assert_eq!(
            command,
            &vec![Value::from("ringkeeper"), Value::from(hook.subcommand)],
            "{where_}.exec.command must be `ringkeeper {}`",
            hook.subcommand
        );
        if let Some(constant) = hook.own_timeout {
            let timeout = at(spec, &["timeoutSeconds"])
                .and_then(Value::as_f64)
                .unwrap_or(1.0);
            let (name, value) = ringkeeper.setting(constant, &env);
            assert!(
                seconds(&value) < timeout,
                "{where_}.timeoutSeconds ({timeout}) must exceed `ringkeeper {}`'s own \
                 timeout {name} ({value})",
                hook.subcommand
            );
        }
    }
}

#[test]
fn every_exec_is_a_ringkeeper_subcommand() {
    let ringkeeper = Ringkeeper::read();
    for deployment in Deployment::all() {
        for doc in &deployment.docs {
            walk(&doc.value, "", &mut |path, value| {
                let Some(command) = at(value, &["exec", "command"]).and_then(Value::as_array)
                else {
                    return;
                };
                let words: Vec<&str> = command.iter().filter_map(Value::as_str).collect();
                let known = match words.as_slice() {
                    ["ringkeeper", sub, ..] => ringkeeper.subcommands.contains(*sub),
                    _ => false,
                };
                assert!(
                    known,
                    "{}: {path}.exec.command is {words:?}; probes and hooks run `ringkeeper \
                     <subcommand>`, one of {:?}",
                    doc.file, ringkeeper.subcommands
                );
            });
        }
    }
}

#[test]
fn every_env_var_is_one_ringkeeper_reads() {
    let ringkeeper = Ringkeeper::read();
    for deployment in Deployment::all() {
        for (file, container) in deployment.containers() {
            let Some(env) = at(container, &["env"]).and_then(Value::as_array) else {
                continue;
            };
            let mut defined: Vec<&str> = Vec::new();
            for entry in env {
                let name = at(entry, &["name"]).and_then(Value::as_str).unwrap_or("");
                let ringkeepers = RINGKEEPER_PREFIXES.iter().any(|p| name.starts_with(p));
                let known = ringkeeper.env_names.contains(name)
                    || (ringkeepers && PENDING_ENV.contains(&name))
                    || (!ringkeepers && NOT_FOR_RINGKEEPER.iter().any(|(n, _)| *n == name));
                assert!(
                    known,
                    "{file}: containers[{CONTAINER}].env sets {name}, which ringkeeper does not \
                     read (src/env.rs); a typo, or add it to NOT_FOR_RINGKEEPER with the reason"
                );
                // $(NAME) is expanded by Kubernetes only from variables defined before.
                let value = at(entry, &["value"]).and_then(Value::as_str).unwrap_or("");
                for reference in references(value) {
                    assert!(
                        defined.contains(&reference),
                        "{file}: containers[{CONTAINER}].env {name} uses $({reference}), which \
                         is not defined before it in the same list"
                    );
                }
                defined.push(name);
            }
        }
    }
    for pending in PENDING_ENV {
        assert!(
            !ringkeeper.env_names.contains(*pending),
            "{pending} is in src/env.rs now: remove it from PENDING_ENV"
        );
    }
    for pending in PENDING_SUBCOMMANDS {
        assert!(
            !ringkeeper.cli_subcommands.contains(*pending),
            "`ringkeeper {pending}` is in src/cli.rs now: remove it from PENDING_SUBCOMMANDS"
        );
    }
}

#[test]
fn volumes_hold_every_mount_and_every_written_path() {
    let ringkeeper = Ringkeeper::read();
    for deployment in Deployment::all() {
        let name = &deployment.name;
        let volumes = deployment.volume_names();
        let mounts = deployment.mounts();
        for (file, mount) in &mounts {
            assert!(
                volumes.contains(&mount.volume),
                "{file}: containers[{CONTAINER}].volumeMounts {} names volume {:?}, which is \
                 neither a volume nor a volumeClaimTemplate of {name} ({volumes:?})",
                mount.path,
                mount.volume
            );
        }

        let (file, container) = deployment.container();
        assert_eq!(
            at(container, &["securityContext", "readOnlyRootFilesystem"]),
            Some(&Value::Bool(true)),
            "{file}: containers[{CONTAINER}].securityContext.readOnlyRootFilesystem must be true"
        );

        let env = deployment.env();
        for (written, what) in WRITTEN {
            let (path, source) = match written {
                Written::Flag(constant) => {
                    let (variable, path) = ringkeeper.setting(constant, &env);
                    (path, format!(" ({variable} or its default)"))
                }
                Written::Path(path) => (path.to_string(), String::new()),
            };
            let writable = mounts
                .iter()
                .any(|(_, m)| !m.read_only && under(&path, &m.path));
            assert!(
                writable,
                "{name}: {path}{source}, {what}, is on no writable volume, and the root \
                 filesystem is read-only"
            );
        }

        // Files ringkeeper reads (credentials, CA, certificates) come from volumes too.
        for (var, value) in &env {
            if var.starts_with("RINGKEEPER_") && var.ends_with("_FILE") {
                assert!(
                    mounts.iter().any(|(_, m)| under(value, &m.path)),
                    "{name}: {var} is {value}, which is on no volume: a mount is missing or the \
                     path has a typo"
                );
            }
        }
    }
}

#[test]
fn rbac_grants_exactly_what_ringkeeper_uses() {
    let base = Deployment::base();
    let (file, role) = base.object("Role", "ringkeeper");
    assert_rules(&file, role, ROLE_RULES);

    let (file, binding) = base.object("RoleBinding", "ringkeeper");
    let account = at(base.pod_spec(), &["serviceAccountName"])
        .and_then(Value::as_str)
        .unwrap_or("default");
    assert_binding(&file, binding, "Role", "ringkeeper", account);
    base.object("ServiceAccount", account);
    // The identity record is shipped, under the name the Role grants, owned by no one.
    let (file, record) = base.object("ConfigMap", "cassandra-identity");
    assert!(
        at(record, &["metadata", "ownerReferences"]).is_none(),
        "{file}: the identity record must outlive the StatefulSet"
    );
    assert_eq!(
        at(base.pod_spec(), &["automountServiceAccountToken"]),
        Some(&Value::Bool(true)),
        "{}: automountServiceAccountToken must be true: ringkeeper reads the API with the token",
        base.container().0
    );

    let topology = Deployment::from_dirs("components/node-topology", &["components/node-topology"]);
    let (file, role) = topology.object("ClusterRole", "ringkeeper-node-topology");
    assert_rules(&file, role, NODE_TOPOLOGY_RULES);
    let (file, binding) = topology.object("ClusterRoleBinding", "ringkeeper-node-topology");
    assert_binding(
        &file,
        binding,
        "ClusterRole",
        "ringkeeper-node-topology",
        account,
    );
}

#[test]
fn the_headless_service_publishes_pods_before_they_are_ready() {
    let base = Deployment::base();
    let (sts_file, sts) = base.object("StatefulSet", CONTAINER);
    let service = at(sts, &["spec", "serviceName"])
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("{sts_file}: spec.serviceName is not set"));
    let (file, svc) = base.object("Service", service);
    assert_eq!(
        at(svc, &["spec", "clusterIP"]).and_then(Value::as_str),
        Some("None"),
        "{file}: spec.clusterIP must be None (the StatefulSet's governing Service, spec.serviceName in {sts_file})"
    );
    assert_eq!(
        at(svc, &["spec", "publishNotReadyAddresses"]),
        Some(&Value::Bool(true)),
        "{file}: spec.publishNotReadyAddresses must be true: seeds are looked up before any pod is Ready"
    );
}

/// The backup component's CronJobs run a ringkeeper command that parses (checked by
/// running it with `--help`), with no API token, as the pods' user on a read-only root; the
/// environment they and the pods get from its ConfigMap holds only variables ringkeeper
/// reads.
#[test]
fn the_backup_jobs_run_ringkeeper_without_an_api_token() {
    let ringkeeper = Ringkeeper::read();
    let backup = Deployment::from_dirs("components/backup", &["components/backup"]);
    let (file, config) = backup.object("ConfigMap", "cassandra-backup");
    for key in at(config, &["data"])
        .and_then(Value::as_object)
        .into_iter()
        .flat_map(|data| data.keys())
    {
        let ringkeepers = RINGKEEPER_PREFIXES.iter().any(|p| key.starts_with(p));
        assert!(
            !ringkeepers || ringkeeper.env_names.contains(key),
            "{file}: {key} is not a variable ringkeeper reads (src/env.rs)"
        );
    }
    let jobs: Vec<&Doc> = backup
        .docs
        .iter()
        .filter(|d| at(&d.value, &["kind"]).and_then(Value::as_str) == Some("CronJob"))
        .collect();
    assert_eq!(jobs.len(), 2, "a request and a prune");
    for job in jobs {
        let pod = at(
            &job.value,
            &["spec", "jobTemplate", "spec", "template", "spec"],
        )
        .unwrap_or_else(|| panic!("{}: no pod template", job.file));
        assert_eq!(
            at(pod, &["automountServiceAccountToken"]),
            Some(&Value::Bool(false)),
            "{}: the job needs no API token",
            job.file
        );
        assert_eq!(
            at(pod, &["securityContext", "runAsUser"]).and_then(Value::as_u64),
            Some(999),
            "{}",
            job.file
        );
        let container = &at(pod, &["containers"]).and_then(Value::as_array).unwrap()[0];
        assert_eq!(
            at(container, &["securityContext", "readOnlyRootFilesystem"]),
            Some(&Value::Bool(true)),
            "{}",
            job.file
        );
        let command: Vec<&str> = at(container, &["command"])
            .and_then(Value::as_array)
            .unwrap_or_else(|| panic!("{}: no command", job.file))
            .iter()
            .filter_map(Value::as_str)
            .collect();
        assert_eq!(command[0], "ringkeeper", "{}", job.file);
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_ringkeeper"))
            .args(&command[1..])
            .arg("--help")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}: {command:?} does not parse: {}",
            job.file,
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn every_file_is_part_of_its_kustomization() {
    for dir in kustomization_dirs(&repo("manifests")) {
        let file = relative(&dir.join("kustomization.yaml"));
        let k = read_yaml(&dir.join("kustomization.yaml"));
        let mut used = BTreeSet::new();
        for key in ["resources", "components"] {
            for item in at(&k, &[key])
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                used.extend(item.as_str().map(str::to_owned));
            }
        }
        for patch in at(&k, &["patches"])
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            used.extend(
                at(patch, &["path"])
                    .and_then(Value::as_str)
                    .map(str::to_owned),
            );
        }
        for generator in at(&k, &["configMapGenerator"])
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            for f in at(generator, &["files"])
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                // `key=path` or `path`
                let f = f.as_str().unwrap_or("");
                used.insert(f.rsplit('=').next().unwrap_or(f).to_owned());
            }
        }
        for name in &used {
            assert!(
                dir.join(name).exists(),
                "{file} refers to {name}, which does not exist"
            );
        }
        for path in yaml_files(&dir) {
            let name = path
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            assert!(
                name == "kustomization.yaml" || used.contains(&name),
                "{} is not used by {file}: list it (resources, patches or a generator) or remove it",
                relative(&path)
            );
        }
    }
}

// === ringkeeper's side: src/env.rs and src/cli.rs ===

struct Ringkeeper {
    /// `pub const NAME: &str = "VALUE";` of src/env.rs: constant name to variable name.
    env_consts: BTreeMap<String, String>,
    /// The variable names alone.
    env_names: BTreeSet<String>,
    /// `default_value` of each `#[arg(...)]` with `env = env::NAME`, by constant name.
    defaults: BTreeMap<String, String>,
    /// The subcommands of src/cli.rs's `enum Command`.
    cli_subcommands: BTreeSet<String>,
    /// Those and the pending ones.
    subcommands: BTreeSet<String>,
}

impl Ringkeeper {
    fn read() -> Ringkeeper {
        let env_rs = read(&repo("src/env.rs"));
        let mut env_consts = BTreeMap::new();
        for line in env_rs.lines() {
            let Some(rest) = line.trim().strip_prefix("pub const ") else {
                continue;
            };
            let Some((name, value)) = rest.split_once(": &str = \"") else {
                continue;
            };
            let value = value.trim_end_matches("\";");
            // Variable names only, not the paths env.rs also lists.
            if value
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
            {
                env_consts.insert(name.to_owned(), value.to_owned());
            }
        }
        assert!(
            env_consts.contains_key("GRACE_PERIOD"),
            "src/env.rs: no `pub const NAME: &str = \"VALUE\";` lines could be read"
        );
        let env_names = env_consts.values().cloned().collect();

        let cli_rs = read(&repo("src/cli.rs"));
        let mut defaults = BTreeMap::new();
        for attribute in cli_rs.split("#[arg(").skip(1) {
            let attribute = attribute.split(")]").next().unwrap_or("");
            let constant = attribute.split("env = env::").nth(1).map(|s| {
                s.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .next()
            });
            let default = attribute
                .split("default_value = \"")
                .nth(1)
                .and_then(|s| s.split('"').next());
            if let (Some(Some(constant)), Some(default)) = (constant, default) {
                defaults.insert(constant.to_owned(), default.to_owned());
            }
        }

        let commands = cli_rs
            .split("pub enum Command {")
            .nth(1)
            .and_then(|s| s.split("\n}").next())
            .expect("src/cli.rs: no `pub enum Command { ... }`");
        let cli_subcommands: BTreeSet<String> = commands
            .lines()
            .filter_map(|line| line.strip_prefix("    "))
            .filter(|line| line.starts_with(|c: char| c.is_ascii_uppercase()))
            .filter_map(|line| line.split(['(', ',', ' ']).next())
            .map(str::to_lowercase)
            .collect();
        assert!(
            cli_subcommands.contains("ready"),
            "src/cli.rs: could not read the subcommands of `enum Command`"
        );
        let mut subcommands = cli_subcommands.clone();
        subcommands.extend(PENDING_SUBCOMMANDS.iter().map(|s| s.to_string()));
        Ringkeeper {
            env_consts,
            env_names,
            defaults,
            cli_subcommands,
            subcommands,
        }
    }

    /// The variable of a flag (by its constant in src/env.rs) and its value: the
    /// manifest's when set, else the default in src/cli.rs.
    fn setting(&self, constant: &str, env: &BTreeMap<String, String>) -> (String, String) {
        let name = self
            .env_consts
            .get(constant)
            .unwrap_or_else(|| panic!("src/env.rs has no constant {constant}"))
            .clone();
        let value = env
            .get(&name)
            .or_else(|| self.defaults.get(constant))
            .unwrap_or_else(|| {
                panic!("{name} is not set and src/cli.rs gives it no default_value")
            });
        (name, value.clone())
    }
}

// === image/Dockerfile ===

struct Dockerfile {
    /// `ARG NAME=default` before the first FROM.
    global_args: BTreeMap<String, String>,
    /// The final stage's ENTRYPOINT and CMD (exec form), and USER.
    entrypoint: Option<Vec<Value>>,
    cmd: Option<Vec<Value>>,
    user: Option<String>,
}

impl Dockerfile {
    fn read() -> Dockerfile {
        let text = read(&repo("image/Dockerfile"));
        // Instructions: comments dropped, continuation lines joined.
        let mut instructions = Vec::new();
        let mut current = String::new();
        for line in text.lines() {
            let trimmed = line.trim();
            if trimmed.starts_with('#') || (trimmed.is_empty() && current.is_empty()) {
                continue;
            }
            match trimmed.strip_suffix('\\') {
                Some(part) => current.push_str(part),
                None => {
                    current.push_str(trimmed);
                    instructions.push(std::mem::take(&mut current));
                }
            }
        }
        let mut file = Dockerfile {
            global_args: BTreeMap::new(),
            entrypoint: None,
            cmd: None,
            user: None,
        };
        let mut stages = 0;
        for instruction in instructions {
            let (keyword, rest) = instruction.split_once(' ').unwrap_or((&instruction, ""));
            let rest = rest.trim();
            let exec_form = || -> Vec<Value> {
                serde_json::from_str(rest).unwrap_or_else(|e| {
                    panic!("image/Dockerfile: {keyword} {rest} is not in exec (JSON) form: {e}")
                })
            };
            match keyword.to_ascii_uppercase().as_str() {
                "FROM" => {
                    // Each stage starts afresh: only the last one's settings count.
                    stages += 1;
                    file.entrypoint = None;
                    file.cmd = None;
                    file.user = None;
                }
                "ARG" if stages == 0 => {
                    if let Some((name, value)) = rest.split_once('=') {
                        file.global_args
                            .insert(name.to_owned(), value.trim_matches('"').to_owned());
                    }
                }
                "ENTRYPOINT" => file.entrypoint = Some(exec_form()),
                "CMD" => file.cmd = Some(exec_form()),
                "USER" => file.user = Some(rest.to_owned()),
                _ => {}
            }
        }
        file
    }
}

/// `USER` as (uid, gid): numbers, or the official image's names; without a group, the
/// user's own (same id there).
fn resolve_user(user: &str) -> (u64, u64) {
    let id = |name: &str| -> u64 {
        name.parse().ok().or_else(|| {
            IMAGE_IDS.iter().find(|(n, _)| *n == name).map(|(_, id)| *id)
        })
        .unwrap_or_else(|| panic!("image/Dockerfile: USER {user}: {name:?} is no number and not one of the official image's users {IMAGE_IDS:?}"))
    };
    match user.split_once(':') {
        Some((u, g)) => (id(u), id(g)),
        None => (id(user), id(user)),
    }
}

// === The manifests ===

/// One Kubernetes object of a manifest file.
struct Doc {
    file: String,
    value: Value,
}

/// What one `kubectl apply -k` puts together: the base, or the base and an overlay's
/// own objects (patches included).
struct Deployment {
    name: String,
    docs: Vec<Doc>,
}

/// A volumeMount of the container.
struct Mount {
    volume: String,
    path: String,
    read_only: bool,
}

impl Deployment {
    fn base() -> Deployment {
        Deployment::from_dirs("base", &["base"])
    }

    /// The base, then each overlay and each component on top of it (a component's
    /// StatefulSet patch adds env entries too).
    fn all() -> Vec<Deployment> {
        let mut all = vec![Deployment::base()];
        for parent in ["overlays", "components"] {
            for dir in subdirs(&repo("manifests").join(parent)) {
                let name = format!(
                    "{parent}/{}",
                    dir.file_name().unwrap_or_default().to_string_lossy()
                );
                all.push(Deployment::from_dirs(&name, &["base", &name]));
            }
        }
        all
    }

    fn from_dirs(name: &str, dirs: &[&str]) -> Deployment {
        let mut docs = Vec::new();
        for dir in dirs {
            for path in yaml_files(&repo("manifests").join(dir)) {
                let value = read_yaml(&path);
                // Kubernetes objects only (not kustomization.yaml, not cassandra.yaml).
                if at(&value, &["apiVersion"]).is_some()
                    && at(&value, &["kind"]).is_some()
                    && at(&value, &["kind"]) != Some(&Value::from("Kustomization"))
                    && at(&value, &["kind"]) != Some(&Value::from("Component"))
                {
                    docs.push(Doc {
                        file: relative(&path),
                        value,
                    });
                }
            }
        }
        Deployment {
            name: name.to_owned(),
            docs,
        }
    }

    /// The object of this kind and name (the first, the base's, when patched).
    fn object(&self, kind: &str, name: &str) -> (String, &Value) {
        self.docs
            .iter()
            .find(|d| {
                at(&d.value, &["kind"]).and_then(Value::as_str) == Some(kind)
                    && at(&d.value, &["metadata", "name"]).and_then(Value::as_str) == Some(name)
            })
            .map(|d| (d.file.clone(), &d.value))
            .unwrap_or_else(|| panic!("{}: no {kind} named {name}", self.name))
    }

    fn statefulsets(&self) -> impl Iterator<Item = &Doc> {
        self.docs
            .iter()
            .filter(|d| at(&d.value, &["kind"]).and_then(Value::as_str) == Some("StatefulSet"))
    }

    /// The base StatefulSet's pod spec.
    fn pod_spec(&self) -> &Value {
        let (file, sts) = self.object("StatefulSet", CONTAINER);
        at(sts, &["spec", "template", "spec"])
            .unwrap_or_else(|| panic!("{file}: no spec.template.spec"))
    }

    /// The base StatefulSet's container.
    fn container(&self) -> (String, &Value) {
        let (file, _) = self.object("StatefulSet", CONTAINER);
        self.containers()
            .into_iter()
            .find(|(f, _)| *f == file)
            .unwrap_or_else(|| panic!("{file}: no container named {CONTAINER}"))
    }

    /// The container in the StatefulSet and in every patch of it.
    fn containers(&self) -> Vec<(String, &Value)> {
        self.statefulsets()
            .flat_map(|d| {
                at(&d.value, &["spec", "template", "spec", "containers"])
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter(|c| at(c, &["name"]).and_then(Value::as_str) == Some(CONTAINER))
                    .map(|c| (d.file.clone(), c))
            })
            .collect()
    }

    /// The container's environment as the merged result would have it (plain values; a
    /// Downward API value counts as set, with an empty value).
    fn env(&self) -> BTreeMap<String, String> {
        let mut env = BTreeMap::new();
        for (_, container) in self.containers() {
            for entry in at(container, &["env"])
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let name = at(entry, &["name"]).and_then(Value::as_str).unwrap_or("");
                let value = at(entry, &["value"]).and_then(Value::as_str).unwrap_or("");
                env.insert(name.to_owned(), value.to_owned());
            }
        }
        env
    }

    fn mounts(&self) -> Vec<(String, Mount)> {
        let mut mounts = Vec::new();
        for (file, container) in self.containers() {
            for m in at(container, &["volumeMounts"])
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let text = |key: &str| {
                    at(m, &[key])
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_owned()
                };
                mounts.push((
                    file.clone(),
                    Mount {
                        volume: text("name"),
                        path: text("mountPath"),
                        read_only: at(m, &["readOnly"]) == Some(&Value::Bool(true)),
                    },
                ));
            }
        }
        mounts
    }

    /// The pod's volumes and the StatefulSet's volumeClaimTemplates, by name.
    fn volume_names(&self) -> BTreeSet<String> {
        let mut names = BTreeSet::new();
        for doc in self.statefulsets() {
            let volumes = at(&doc.value, &["spec", "template", "spec", "volumes"]);
            let claims = at(&doc.value, &["spec", "volumeClaimTemplates"]);
            for v in [volumes, claims]
                .into_iter()
                .flatten()
                .filter_map(Value::as_array)
                .flatten()
            {
                let name = at(v, &["name"]).or_else(|| at(v, &["metadata", "name"]));
                names.extend(name.and_then(Value::as_str).map(str::to_owned));
            }
        }
        names
    }
}

fn assert_rules(file: &str, role: &Value, expected: &[Rule]) {
    let mut granted = BTreeSet::new();
    for rule in at(role, &["rules"])
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let list = |key: &str| -> Vec<String> {
            at(rule, &[key])
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        };
        let keys: BTreeSet<&str> = rule
            .as_object()
            .into_iter()
            .flatten()
            .map(|(k, _)| k.as_str())
            .collect();
        assert!(
            keys.iter()
                .all(|k| ["apiGroups", "resources", "verbs", "resourceNames"].contains(k)),
            "{file}: a rule uses {keys:?}; ringkeeper's rules name API groups, resources, verbs \
             and resource names only"
        );
        // No resourceNames: any object ("*").
        let mut names = list("resourceNames");
        if names.is_empty() {
            names.push("*".into());
        }
        for group in list("apiGroups") {
            for resource in list("resources") {
                for verb in list("verbs") {
                    for name in &names {
                        granted.insert((
                            group.clone(),
                            resource.clone(),
                            verb.clone(),
                            name.clone(),
                        ));
                    }
                }
            }
        }
    }
    let wanted: BTreeSet<(String, String, String, String)> = expected
        .iter()
        .flat_map(|(g, r, verbs, names)| {
            let names: Vec<&str> = if names.is_empty() {
                vec!["*"]
            } else {
                names.to_vec()
            };
            verbs.iter().flat_map(move |v| {
                names
                    .clone()
                    .into_iter()
                    .map(move |n| (g.to_string(), r.to_string(), v.to_string(), n.to_string()))
            })
        })
        .collect();
    let extra: Vec<_> = granted.difference(&wanted).collect();
    let missing: Vec<_> = wanted.difference(&granted).collect();
    assert!(
        extra.is_empty() && missing.is_empty(),
        "{file}: rules must grant exactly what ringkeeper uses, as (group, resource, verb, name); \
         granted but not used: {extra:?}; used but not granted: {missing:?}"
    );
}

fn assert_binding(file: &str, binding: &Value, kind: &str, role: &str, account: &str) {
    let role_ref = (
        at(binding, &["roleRef", "kind"]).and_then(Value::as_str),
        at(binding, &["roleRef", "name"]).and_then(Value::as_str),
    );
    assert_eq!(
        role_ref,
        (Some(kind), Some(role)),
        "{file}: roleRef must be {kind} {role}"
    );
    let subjects: Vec<(Option<&str>, Option<&str>)> = at(binding, &["subjects"])
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|s| {
            (
                at(s, &["kind"]).and_then(Value::as_str),
                at(s, &["name"]).and_then(Value::as_str),
            )
        })
        .collect();
    assert_eq!(
        subjects,
        vec![(Some("ServiceAccount"), Some(account))],
        "{file}: subjects must be the pods' ServiceAccount {account} alone"
    );
}

// === Helpers ===

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

fn relative(path: &Path) -> String {
    path.strip_prefix(env!("CARGO_MANIFEST_DIR"))
        .unwrap_or(path)
        .display()
        .to_string()
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", relative(path)))
}

fn read_yaml(path: &Path) -> Value {
    serde_saphyr::from_str(&read(path))
        .unwrap_or_else(|e| panic!("{} is not valid YAML: {e}", relative(path)))
}

/// The .yaml files of a directory (not its subdirectories), sorted.
fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", relative(dir)))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files
}

fn subdirs(dir: &Path) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", relative(dir)))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs
}

/// Every directory under `dir` (itself included) that holds a kustomization.yaml.
fn kustomization_dirs(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    if dir.join("kustomization.yaml").exists() {
        found.push(dir.to_path_buf());
    }
    for sub in subdirs(dir) {
        found.extend(kustomization_dirs(&sub));
    }
    found
}

fn at<'a>(value: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(value, |v, key| v.get(key))
}

/// Calls `visit` with every mapping in `value` and its path (`a.b[2].c`).
fn walk(value: &Value, path: &str, visit: &mut dyn FnMut(&str, &Value)) {
    match value {
        Value::Object(map) => {
            visit(path, value);
            for (key, v) in map {
                let sub = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                walk(v, &sub, visit);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                walk(v, &format!("{path}[{i}]"), visit);
            }
        }
        _ => {}
    }
}

/// The `$(NAME)` references of an env value.
fn references(value: &str) -> Vec<&str> {
    value
        .split("$(")
        .skip(1)
        .filter_map(|s| s.split_once(')').map(|(name, _)| name))
        .collect()
}

/// Whether `path` is `dir` or lies below it.
fn under(path: &str, dir: &str) -> bool {
    let dir = dir.trim_end_matches('/');
    path == dir
        || path
            .strip_prefix(dir)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// A duration as ringkeeper's flags take it (`120s`, `2m`, `500ms`, `90`), in seconds.
fn seconds(text: &str) -> f64 {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 = number
        .parse()
        .unwrap_or_else(|_| panic!("{text:?} is not a duration"));
    let scale = match unit {
        "" | "s" => 1.0,
        "ms" => 0.001,
        "m" => 60.0,
        "h" => 3600.0,
        _ => panic!("{text:?}: unknown duration unit {unit:?}"),
    };
    number * scale
}
