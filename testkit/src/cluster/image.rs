//! What stands for the container image in the harness: the one visible table of paths
//! inside `ringkeeper-cassandra` (image/Dockerfile, on the official `cassandra` image)
//! and the harness's equivalents, plus the image's environment and user. The pod runner
//! mounts these into each container's root; nothing in a manifest is rewritten.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::container::Mount;
use crate::ring::{Cassandra, repo_root};

/// The official image's `cassandra` user (and group), which `USER cassandra` runs as.
pub const CASSANDRA_UID: u32 = 999;

/// The image's environment (official image: `CASSANDRA_HOME`, `CASSANDRA_CONF`,
/// `JAVA_HOME`, and `PATH` with Cassandra's and Java's `bin` first).
pub const ENV: &[(&str, &str)] = &[
    ("CASSANDRA_HOME", "/opt/cassandra"),
    ("CASSANDRA_CONF", "/etc/cassandra"),
    ("JAVA_HOME", "/opt/java/openjdk"),
    (
        "PATH",
        "/opt/cassandra/bin:/opt/java/openjdk/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    ),
    ("LANG", "C.UTF-8"),
];

/// The mapping: path in the image → what the harness mounts there (read-only).
///
/// | in the image | in the harness |
/// |---|---|
/// | `/usr/local/bin/ringkeeper` | the ringkeeper binary under test |
/// | `/opt/cassandra/bin/cassandra` | `tests/kube/image/cassandra`: the launcher (runs `tests/cassandra/cassandra-node` with the test speed-ups every harness node gets) |
/// | `/opt/cassandra/bin/nodetool` | `tests/kube/image/nodetool` (runs `tests/cassandra/nodetool`) |
/// | `/opt/cassandra/harness` | `tests/cassandra` (the scripts the two above run) |
/// | `/opt/cassandra/lib` | the `cassandra-all` jars of the version under test (Maven Central) |
/// | `/etc/cassandra` | `tests/cassandra/conf` (the template the image ships) |
/// | `/opt/java/openjdk` | the JDK the version runs on (17 from PATH for 5.0, 11 for 4.1) |
/// | `/opt/java/tools` | a JDK 17 for nodetool (the JDK 11 runtime used for 4.1 lacks RMI naming) |
pub fn mounts(ringkeeper: &Path, cassandra: &Cassandra) -> Result<Vec<Mount>> {
    let repo = repo_root();
    let java_home = java_home(&cassandra.java)?;
    let tools_java = java_home_of_path_java()?;
    let ro = |source: PathBuf, target: &str, file: bool| Mount {
        source,
        target: target.to_owned(),
        read_only: true,
        file,
    };
    Ok(vec![
        ro(ringkeeper.to_owned(), "/usr/local/bin/ringkeeper", true),
        ro(
            repo.join("tests/kube/image/cassandra"),
            "/opt/cassandra/bin/cassandra",
            true,
        ),
        ro(
            repo.join("tests/kube/image/nodetool"),
            "/opt/cassandra/bin/nodetool",
            true,
        ),
        ro(
            repo.join("tests/cassandra"),
            "/opt/cassandra/harness",
            false,
        ),
        ro(cassandra.home.join("lib"), "/opt/cassandra/lib", false),
        ro(repo.join("tests/cassandra/conf"), "/etc/cassandra", false),
        ro(java_home, "/opt/java/openjdk", false),
        ro(tools_java, "/opt/java/tools", false),
    ])
}

/// `<home>/bin/java` → `<home>`, symlinks resolved.
fn java_home(java: &Path) -> Result<PathBuf> {
    let java = if java.is_absolute() {
        java.to_owned()
    } else {
        which(java)?
    };
    let real = std::fs::canonicalize(&java).with_context(|| format!("resolving {java:?}"))?;
    real.parent()
        .and_then(Path::parent)
        .map(Path::to_owned)
        .with_context(|| format!("{real:?} is not <home>/bin/java"))
}

fn java_home_of_path_java() -> Result<PathBuf> {
    java_home(Path::new("java"))
}

fn which(program: &Path) -> Result<PathBuf> {
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {}", program.display()))
        .output()?;
    let found = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    if !out.status.success() || found.is_empty() {
        anyhow::bail!("{program:?} not found in PATH");
    }
    Ok(PathBuf::from(found))
}
