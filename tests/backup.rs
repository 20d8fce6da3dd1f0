//! Backups on a real node, started by `ringkeeper entrypoint`, into a local-directory
//! store (the embedded default): `ringkeeper backup create` run beside the node as a
//! person or a Job would in its pod, then `list`, `status` and `verify`. Needs root, Java
//! and the cassandra-all jars: run `scripts/test`.

#![allow(clippy::print_stderr)] // Progress lines (summaries) for the test log.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use common::{BOOT, cql_in_ring, new_ring, nodes};
use ringkeeper_testkit::ring::{self, Ring, RingSpec};

/// `ringkeeper backup <args>` in the ring's namespace, against ordinal 0's node.
fn backup(ring: &Ring, store: &Path, args: &[&str]) -> (i32, String, String) {
    let spec = &ring.spec;
    let out = ring
        .netns()
        .command(&spec.ringkeeper)
        .env_clear()
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .env("CASSANDRA_HOME", &spec.cassandra.home)
        .env("POD_NAME", "cassandra-0")
        .arg("backup")
        .arg("--store")
        .arg(store)
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn create(ring: &Ring, store: &Path, name: &str) -> (i32, String, String) {
    let mut args = vec![
        "create".to_owned(),
        name.to_owned(),
        "--host".into(),
        ring::default_ip(0).to_string(),
        "--data-dir".into(),
        ring.spec.data_dir(0).display().to_string(),
    ];
    args.extend(RingSpec::jmx_args(0));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    backup(ring, store, &args)
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text.trim()).unwrap_or_else(|e| panic!("{e}: {text:?}"))
}

fn write_rows(ring: &Ring, from: i32, to: i32) {
    cql_in_ring(ring, ring::default_ip(0), move |session| {
        Box::pin(async move {
            for statement in [
                "CREATE KEYSPACE IF NOT EXISTS bk WITH replication = \
                 {'class': 'SimpleStrategy', 'replication_factor': 1}",
                "CREATE TABLE IF NOT EXISTS bk.t (k int PRIMARY KEY, v text)",
            ] {
                session.query_unpaged(statement, &[]).await.unwrap();
            }
            for k in from..to {
                session
                    .query_unpaged(
                        "INSERT INTO bk.t (k, v) VALUES (?, ?)",
                        (k, format!("row {k}")),
                    )
                    .await
                    .unwrap();
            }
        })
    });
}

fn manifest(store: &Path, backup: &str) -> serde_json::Value {
    let path = store.join(format!("backups/{backup}/members/cassandra-0.json"));
    json(&std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
}

fn blob(store: &Path, sha256: &str) -> PathBuf {
    store.join(format!("blobs/sha256/{}/{sha256}", &sha256[..2]))
}

/// Every directory named `snapshots/<tag>` left on the volume.
fn snapshots_left(dir: &Path, tag: &str, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        if entry.file_type().unwrap().is_dir() {
            if entry.file_name() == "snapshots" && entry.path().join(tag).exists() {
                found.push(entry.path().join(tag));
            }
            snapshots_left(&entry.path(), tag, found);
        }
    }
}

/// A node's part of a backup: its files (flushed first: every acknowledged write is in
/// them) uploaded once, the manifest written last with the node's identity and schema, the
/// snapshot cleared; a second backup uploads only the new files; `verify` names a corrupt
/// and a missing object; bad input is refused with exit 2, a repeated part with exit 1.
#[test]
#[ignore = "needs root, Java and real Cassandra nodes: run scripts/test"]
fn a_node_backs_up_incrementally_and_verify_names_damage() {
    let _nodes = nodes(1);
    let mut ring = new_ring("backup");
    let store = ring.spec.dir.join("store");
    ring.start_ready(0, BOOT).unwrap();
    write_rows(&ring, 0, 500);

    // The first backup uploads every file.
    let (code, out, err) = create(&ring, &store, "first");
    eprintln!("first backup: {out}");
    assert_eq!(code, 0, "{err}");
    let first = json(&out);
    let files = first["files"].as_u64().unwrap();
    assert!(files > 0, "{out}");
    // Each distinct content once (many small components are alike: TOC.txt, ...).
    let m1 = manifest(&store, "first");
    let distinct: BTreeSet<&str> = m1["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["sha256"].as_str().unwrap())
        .collect();
    assert_eq!(first["uploaded"]["files"], distinct.len(), "{out}");
    assert_eq!(first["hashes_reused"], 0, "{out}");
    let mut left = Vec::new();
    snapshots_left(&ring.spec.data_dir(0), "ringkeeper-backup-first", &mut left);
    assert!(left.is_empty(), "snapshot not cleared: {left:?}");

    // The manifest: who the node was, the schema, every file with its hash (the rows'
    // table among them: the snapshot flushed the memtable).
    let host_id = ring
        .nodetool(0, &["info"])
        .unwrap()
        .lines()
        .find_map(|l| {
            l.strip_prefix("ID")
                .map(|v| v.trim_start_matches([' ', ':']).trim().to_owned())
        })
        .unwrap();
    assert_eq!(m1["node"]["host_id"], host_id.as_str());
    assert_eq!(m1["node"]["tokens"].as_array().unwrap().len(), 8);
    assert_eq!(m1["node"]["cassandra_version"], common::CASSANDRA);
    assert!(
        m1["schema_cql"]
            .as_str()
            .unwrap()
            .contains("CREATE TABLE bk.t"),
        "{m1}"
    );
    let paths = |m: &serde_json::Value| -> BTreeSet<String> {
        m["files"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["path"].as_str().unwrap().to_owned())
            .collect()
    };
    let first_paths = paths(&m1);
    assert!(
        first_paths
            .iter()
            .any(|p| p.starts_with("data/bk/t-") && p.ends_with("-Data.db")),
        "{first_paths:?}"
    );
    // System keyspaces too: a whole-node restore brings back the node's identity.
    assert!(
        first_paths
            .iter()
            .any(|p| p.starts_with("data/system/local-")),
        "{first_paths:?}"
    );
    for f in m1["files"].as_array().unwrap() {
        let path = blob(&store, f["sha256"].as_str().unwrap());
        assert_eq!(
            std::fs::metadata(&path).unwrap().len(),
            f["size"].as_u64().unwrap()
        );
    }

    // More rows, a second backup: only the files the first lacks are uploaded.
    write_rows(&ring, 500, 600);
    let (code, out, err) = create(&ring, &store, "second");
    eprintln!("second backup: {out}");
    assert_eq!(code, 0, "{err}");
    let second = json(&out);
    let m2 = manifest(&store, "second");
    let new_paths: BTreeSet<String> = paths(&m2).difference(&first_paths).cloned().collect();
    assert!(
        !new_paths.is_empty(),
        "no new file after a flush of new rows"
    );
    let uploaded = second["uploaded"]["files"].as_u64().unwrap();
    assert!(
        uploaded > 0 && uploaded <= new_paths.len() as u64,
        "{out} {new_paths:?}"
    );
    assert!(
        second["already_stored"]["files"].as_u64().unwrap() > 0,
        "{out}"
    );
    assert!(second["hashes_reused"].as_u64().unwrap() > 0, "{out}");

    // The same part again: refused, nothing changed.
    let (code, _, err) = create(&ring, &store, "second");
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("already has cassandra-0's part"), "{err}");

    // list, status, verify.
    let (code, out, err) = backup(&ring, &store, &["list", "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    let listed = json(&out);
    let names: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["first", "second"], "{out}");
    let (code, out, err) = backup(&ring, &store, &["status", "second"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("cassandra-0") && out.contains("complete"),
        "{out}"
    );
    let (code, out, err) = backup(&ring, &store, &["verify", "second"]);
    assert_eq!(code, 0, "{out}{err}");

    // Damage: one blob rewritten with other bytes of the same size, another deleted.
    let entries = m2["files"].as_array().unwrap();
    let data_file = entries
        .iter()
        .find(|f| {
            f["path"].as_str().unwrap().ends_with("-Data.db") && f["size"].as_u64().unwrap() > 0
        })
        .unwrap();
    let other = entries
        .iter()
        .find(|f| f["sha256"] != data_file["sha256"] && f["size"].as_u64().unwrap() > 0)
        .unwrap();
    let corrupt = blob(&store, data_file["sha256"].as_str().unwrap());
    let size = std::fs::metadata(&corrupt).unwrap().len() as usize;
    std::fs::write(&corrupt, vec![0u8; size]).unwrap();
    std::fs::remove_file(blob(&store, other["sha256"].as_str().unwrap())).unwrap();
    let (code, out, err) = backup(&ring, &store, &["verify", "second"]);
    eprintln!("verify after damage: {out}");
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        out.contains(&format!(
            "{}: blob {} is corrupt",
            data_file["path"].as_str().unwrap(),
            data_file["sha256"].as_str().unwrap()
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "{}: blob {} is missing",
            other["path"].as_str().unwrap(),
            other["sha256"].as_str().unwrap()
        )),
        "{out}"
    );

    // Bad input: exit 2, naming it.
    let (code, _, err) = backup(&ring, &store, &["status", "nope"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("no backup named \"nope\""), "{err}");
    let (code, _, err) = create(&ring, &store, "Bad_Name");
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("\"Bad_Name\" is not a backup name"), "{err}");
}
