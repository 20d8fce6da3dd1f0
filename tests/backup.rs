//! Backups on a real node, started by `ringkeeper entrypoint`, into a local-directory
//! store (the embedded default): `ringkeeper backup create` run beside the node as a
//! person or a Job would in its pod, then `list`, `status` and `verify`. Needs root, Java
//! and the cassandra-all jars: run `scripts/test`.

#![allow(clippy::print_stderr)] // Progress lines (summaries) for the test log.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use common::{BOOT, cql_in_ring, new_ring, nodes};
use ringkeeper_testkit::ring::{self, Ring};

/// Where `ringkeeper backup` is pointed: a store and the environment that reaches it.
struct Target {
    store: String,
    env: Vec<(&'static str, String)>,
}

impl Target {
    fn local(dir: &Path) -> Self {
        Target {
            store: dir.display().to_string(),
            env: Vec::new(),
        }
    }
}

/// `ringkeeper backup <args>` in the ring's namespace, against ordinal 0's node.
fn backup(ring: &Ring, target: &Target, args: &[&str]) -> (i32, String, String) {
    let out = common::backup_command(ring, "cassandra-0", Path::new(&target.store))
        .envs(target.env.iter().map(|(k, v)| (*k, v.as_str())))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn create(ring: &Ring, target: &Target, name: &str) -> (i32, String, String) {
    let args = create_args(ring, name);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    backup(ring, target, &args)
}

fn create_args(ring: &Ring, name: &str) -> Vec<String> {
    let mut args = vec!["create".to_owned(), name.to_owned()];
    args.extend(common::backup_node_args(ring, 0, ring::default_ip(0)));
    args
}

/// `backup create` started beside the test at `rate` bytes a second, its output piped.
fn spawn_create(ring: &Ring, store: &Path, name: &str, rate: &str) -> std::process::Child {
    let mut args = create_args(ring, name);
    args.extend(["--max-rate".into(), rate.into()]);
    common::backup_command(ring, "cassandra-0", store)
        .args(&args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap()
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
    // Built (or found in the cache) before the node is reserved.
    let gateway = common::s3::gateway_binary();
    let _nodes = nodes(1);
    let mut ring = new_ring("backup");
    let store = ring.spec.dir.join("store");
    let local = Target::local(&store);
    ring.start_ready(0, BOOT).unwrap();
    write_rows(&ring, 0, 500);

    // The first backup uploads every file.
    let (code, out, err) = create(&ring, &local, "first");
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
    let (code, out, err) = create(&ring, &local, "second");
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
    let (code, out, err) = create(&ring, &local, "second");
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("already has cassandra-0's part"), "{err}");
    assert_eq!(
        json(&out)["refused"]
            .as_str()
            .map(|r| r.contains("already has")),
        Some(true),
        "{out}"
    );

    // list, status, verify.
    let (code, out, err) = backup(&ring, &local, &["list", "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    let listed = json(&out);
    let names: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["first", "second"], "{out}");
    let (code, out, err) = backup(&ring, &local, &["status", "second"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("cassandra-0") && out.contains("complete"),
        "{out}"
    );
    let (code, out, err) = backup(&ring, &local, &["verify", "second"]);
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
    let (code, out, err) = backup(&ring, &local, &["verify", "second"]);
    eprintln!("verify after damage: {out}");
    // What a person does about a corrupt object: remove it; the next backup of a node
    // that still has the file uploads it again ("after-stop", below).
    let remove_corrupt = corrupt.clone();
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

    std::fs::remove_file(&remove_corrupt).unwrap();

    // A backup stopped in the middle of its upload (its process killed, as a pod deleted
    // or drained midway ends it): never complete; its snapshot is removed at the node's
    // next start, a person's snapshot stays; the next backup completes.
    write_rows(&ring, 700, 800);
    let mut stopped = spawn_create(&ring, &store, "stopped", "1KiB");
    let pending = store.join("backups/stopped/pending/cassandra-0.json");
    common::eventually(std::time::Duration::from_secs(60), || {
        pending
            .exists()
            .then_some(())
            .ok_or("no pending marker yet".to_owned())
    });
    // Our own child, by its handle.
    stopped.kill().unwrap();
    let _ = stopped.wait();
    assert!(
        !store
            .join("backups/stopped/members/cassandra-0.json")
            .exists()
    );
    let (code, out, _) = backup(&ring, &local, &["status", "stopped"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("incomplete"), "{out}");
    let (code, out, _) = backup(&ring, &local, &["verify", "stopped"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("cassandra-0: the part is incomplete"), "{out}");
    let volume = ring.spec.data_dir(0);
    let left_behind = |tag: &str| {
        let mut found = Vec::new();
        snapshots_left(&volume, tag, &mut found);
        found.len()
    };
    assert!(
        left_behind("ringkeeper-backup-stopped") > 0,
        "the killed backup's snapshot"
    );
    ring.nodetool(0, &["snapshot", "-t", "by-a-person"])
        .unwrap();
    ring.stop(0, std::time::Duration::from_secs(60)).unwrap();
    ring.start_ready(0, BOOT).unwrap();
    assert_eq!(left_behind("ringkeeper-backup-stopped"), 0);
    assert!(
        left_behind("by-a-person") > 0,
        "a person's snapshot was removed"
    );
    assert!(
        ring.entrypoint_log(0)
            .contains("a backup's leftover snapshot removed"),
        "{}",
        ring.entrypoint_log(0)
    );
    let (code, out, err) = create(&ring, &local, "after-stop");
    assert_eq!(code, 0, "{out}{err}");

    // The volume lost (the set and its volumes deleted): restored from the backup before
    // Cassandra starts, the node is the member it was, with every row, and neither joined
    // nor streamed. A damaged backup is refused first, the volume left empty.
    restore_into_a_lost_volume(&mut ring, &store, &host_id);
    prune_while_a_backup_runs(&ring, &store);
    one_table_back_online(&ring, &store);
    a_requested_backup_of_the_set(&ring, &store);

    // Bad input: exit 2, naming it.
    let (code, _, err) = backup(&ring, &local, &["status", "nope"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("no backup named \"nope\""), "{err}");
    let (code, _, err) = create(&ring, &local, "Bad_Name");
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("\"Bad_Name\" is not a backup name"), "{err}");

    // The same node into a real S3-compatible store.
    into_s3(&ring, &gateway);
}

/// A prune beside a backup that is uploading: the running backup's objects stay (its
/// pending marker lists them), it completes and verifies; the old backups and every object
/// only they referenced go; the newest complete backup always stays.
fn prune_while_a_backup_runs(ring: &Ring, store: &Path) {
    let local = Target::local(store);
    let prune = |args: &[&str]| {
        let mut all = vec!["prune"];
        all.extend(args);
        let (code, out, err) = backup(ring, &local, &all);
        assert_eq!(code, 0, "{err}");
        eprintln!("prune {args:?}: {out}");
        json(&out)
    };
    let names = |v: &serde_json::Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|n| n.as_str().unwrap().to_owned())
            .collect()
    };
    let dry = prune(&["--keep-last", "1", "--dry-run"]);
    assert_eq!(names(&dry["deleted_backups"]), ["first", "second"], "{dry}");
    assert!(store.join("backups/first").exists(), "a dry run deleted");

    write_rows(ring, 900, 1000);
    let mut running = spawn_create(ring, store, "during-prune", "20KiB");
    let pending = store.join("backups/during-prune/pending/cassandra-0.json");
    common::eventually(std::time::Duration::from_secs(60), || {
        pending
            .exists()
            .then_some(())
            .ok_or("no pending marker yet".to_owned())
    });
    let pruned = prune(&["--keep-last", "1"]);
    assert_eq!(
        names(&pruned["deleted_backups"]),
        ["first", "second"],
        "{pruned}"
    );
    assert!(
        running.try_wait().unwrap().is_none(),
        "the backup ended before the prune did: nothing ran beside it"
    );
    let out = running.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "the backup beside the prune: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    for name in ["during-prune", "after-stop"] {
        let (code, out, err) = backup(ring, &local, &["verify", name]);
        assert_eq!(code, 0, "{name}: {out}{err}");
    }

    // Stale markers: "stopped" (a part that stopped) goes, with every object only it and
    // "after-stop" referenced; what remains is whole.
    let pruned = prune(&["--keep-last", "1", "--stale-after", "0s"]);
    let mut deleted = names(&pruned["deleted_backups"]);
    deleted.sort();
    assert_eq!(deleted, ["after-stop", "stopped"], "{pruned}");
    let (code, out, err) = backup(ring, &local, &["list", "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(json(&out).as_array().unwrap().len(), 1, "{out}");
    let (code, out, err) = backup(ring, &local, &["verify", "during-prune"]);
    assert_eq!(code, 0, "{out}{err}");
    let kept: BTreeSet<String> = manifest(store, "during-prune")["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["sha256"].as_str().unwrap().to_owned())
        .collect();
    let mut stored = 0;
    for fan in std::fs::read_dir(store.join("blobs/sha256")).unwrap() {
        stored += std::fs::read_dir(fan.unwrap().path()).unwrap().count();
    }
    assert_eq!(stored, kept.len(), "objects no backup references are left");
}

/// `backup request`: the entrypoint (running with `--backup-store`) takes its pod's part
/// on its own; a request naming a pod that never takes its part stays incomplete.
fn a_requested_backup_of_the_set(ring: &Ring, store: &Path) {
    let local = Target::local(store);
    let (code, out, err) = backup(ring, &local, &["request", "set-1", "--replicas", "1"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        json(&out)["pods"],
        serde_json::json!(["cassandra-0"]),
        "{out}"
    );
    let (code, _, err) = backup(ring, &local, &["request", "set-1", "--replicas", "1"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("a backup named set-1 exists already"), "{err}");
    common::eventually(std::time::Duration::from_secs(60), || {
        let (code, out, _) = backup(ring, &local, &["status", "set-1"]);
        (code == 0).then_some(()).ok_or(out)
    });
    // The manifest comes before the child's exit: the entrypoint says so a moment later.
    common::eventually(std::time::Duration::from_secs(30), || {
        let log = ring.entrypoint_log(0);
        log.contains("this pod's part of the backup is complete")
            .then_some(())
            .ok_or(log)
    });
    let (code, out, err) = backup(ring, &local, &["verify", "set-1"]);
    assert_eq!(code, 0, "{out}{err}");

    // Two pods asked, one in this ring: cassandra-1's part is never started.
    let (code, _, err) = backup(ring, &local, &["request", "set-2", "--replicas", "2"]);
    assert_eq!(code, 0, "{err}");
    common::eventually(std::time::Duration::from_secs(60), || {
        store
            .join("backups/set-2/members/cassandra-0.json")
            .exists()
            .then_some(())
            .ok_or("cassandra-0's part not taken yet".to_owned())
    });
    let (code, out, _) = backup(ring, &local, &["status", "set-2"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("not started"), "{out}");
}

/// After a TRUNCATE, and after a DROP, the table's rows come back from the backup through
/// `nodetool import`, with the node running throughout.
fn one_table_back_online(ring: &Ring, store: &Path) {
    let local = Target::local(store);
    let restore = |extra: &[&str]| {
        let mut args = create_args(ring, "during-prune");
        args[0] = "restore-table".into();
        args.insert(2, "bk.t".into());
        args.extend(extra.iter().map(|a| (*a).to_owned()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        backup(ring, &local, &args)
    };
    let cql = |statement: &'static str| {
        cql_in_ring(ring, ring::default_ip(0), move |session| {
            Box::pin(async move {
                session.query_unpaged(statement, &[]).await.unwrap();
            })
        })
    };
    let starts = || ring.system_log(0).matches("Startup complete").count();
    let before = starts();
    // Rows 0..600, 700..800 and 900..1000 were written before "during-prune".
    cql("TRUNCATE bk.t");
    assert_eq!(count_rows(ring), 0);
    let (code, out, err) = restore(&[]);
    eprintln!("table restored after TRUNCATE: {out}");
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(count_rows(ring), 800);

    cql("DROP TABLE bk.t");
    let (code, _, err) = restore(&[]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("the table is gone: give --create-table"),
        "{err}"
    );
    let (code, out, err) = restore(&["--create-table"]);
    eprintln!("table restored after DROP: {out}");
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(count_rows(ring), 800);
    assert_eq!(starts(), before, "the node was restarted");
}

/// Restores `name` into an empty volume; looks for requested backups every second.
fn restore_opts(store: &Path, name: &str) -> ring::NodeOpts {
    ring::NodeOpts {
        args: vec![
            "--restore-backup".into(),
            name.into(),
            "--backup-store".into(),
            store.display().to_string(),
            "--backup-poll".into(),
            "1s".into(),
        ],
        ..Default::default()
    }
}

fn restore_into_a_lost_volume(ring: &mut Ring, store: &Path, host_id: &str) {
    let volume = ring.spec.data_dir(0);
    let ip = ring::default_ip(0);
    ring.stop(0, std::time::Duration::from_secs(60)).unwrap();
    std::fs::remove_dir_all(&volume).unwrap();
    std::fs::create_dir_all(&volume).unwrap();

    // One object of "after-stop" damaged in the store: refused, Cassandra not started, the
    // volume untouched; the object mended, the restore goes through.
    let m = manifest(store, "after-stop");
    let victim = m["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| {
            let p = f["path"].as_str().unwrap();
            p.starts_with("data/system/local-") && p.ends_with("-Data.db")
        })
        .unwrap();
    let object = blob(store, victim["sha256"].as_str().unwrap());
    let original = std::fs::read(&object).unwrap();
    std::fs::write(&object, vec![0u8; original.len()]).unwrap();
    ring.start(0, ip, &restore_opts(store, "after-stop"))
        .unwrap();
    let status = ring
        .wait_exit(0, std::time::Duration::from_secs(120))
        .unwrap();
    let log = ring.entrypoint_log(0);
    assert_eq!(status.code(), Some(1), "{log}");
    assert!(
        log.contains("restore refused") && log.contains("is corrupt"),
        "{log}"
    );
    let left: Vec<_> = std::fs::read_dir(&volume)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(left.is_empty(), "the volume was touched: {left:?}");
    std::fs::write(&object, &original).unwrap();
    // The node's log goes on across its starts: only what this one writes counts.
    let log_before = ring.system_log(0).len();

    ring.start(0, ip, &restore_opts(store, "after-stop"))
        .unwrap();
    ring.wait_ready(0, BOOT).unwrap();
    let log = ring.entrypoint_log(0);
    assert!(
        log.contains("the node starts as the ring member it was"),
        "{log}"
    );
    let info = ring.nodetool(0, &["info"]).unwrap();
    assert!(info.contains(host_id), "another host ID: {info}");
    // Rows 0..600 and 700..800 were written before "after-stop" was taken.
    assert_eq!(count_rows(ring), 700);
    let system = ring.system_log(0)[log_before..].to_owned();
    // Its own host ID and tokens from the restored system tables; no new identity, no
    // bootstrap (no streaming).
    assert!(system.contains("Using saved tokens"), "{system}");
    for new in [
        "No host ID found",
        "Starting to bootstrap",
        "Bootstrap completed",
    ] {
        assert!(
            !system.contains(new),
            "{new}: the node came back as another"
        );
    }

    // The flag stays on every later start: a volume with a node's state starts as it is.
    ring.stop(0, std::time::Duration::from_secs(60)).unwrap();
    ring.start(0, ip, &restore_opts(store, "after-stop"))
        .unwrap();
    ring.wait_ready(0, BOOT).unwrap();
    assert!(
        ring.entrypoint_log(0)
            .contains("is restored only into an empty volume"),
        "{}",
        ring.entrypoint_log(0)
    );
    assert_eq!(count_rows(ring), 700);
}

fn count_rows(ring: &Ring) -> usize {
    common::count_rows(ring, ring::default_ip(0), "bk")
}

/// Backups into Versity's S3 gateway (a bucket on its POSIX backend) inside the ring's
/// namespace: the first uploads every distinct file, the next only the new ones; `verify`
/// reads every object back through S3 and names a corrupt one; wrong credentials and an
/// unreachable store are errors (exit 2) that say which, without the secret.
fn into_s3(ring: &Ring, gateway: &Path) {
    let gateway = common::s3::start(
        gateway,
        ring.netns(),
        "127.0.0.1:7070".parse().unwrap(),
        &ring.spec.dir.join("s3"),
    );
    let s3 = |secret: &str, endpoint: &str| Target {
        store: "s3://ringkeeper/ring-a".into(),
        env: vec![
            ("AWS_ACCESS_KEY_ID", common::s3::ACCESS.into()),
            ("AWS_SECRET_ACCESS_KEY", secret.into()),
            ("AWS_ENDPOINT_URL", endpoint.into()),
            ("AWS_ALLOW_HTTP", "true".into()),
            ("AWS_REGION", "us-east-1".into()),
        ],
    };
    let target = s3(common::s3::SECRET, "http://127.0.0.1:7070");

    let (code, out, err) = create(ring, &target, "s3-first");
    eprintln!("first backup to S3: {out}");
    assert_eq!(code, 0, "{err}");
    let first = json(&out);
    assert!(first["uploaded"]["files"].as_u64().unwrap() > 0, "{out}");
    assert_eq!(first["hashes_reused"], 0, "another store: nothing to trust");
    write_rows(ring, 600, 700);
    let (code, out, err) = create(ring, &target, "s3-second");
    eprintln!("second backup to S3: {out}");
    assert_eq!(code, 0, "{err}");
    let second = json(&out);
    assert!(second["hashes_reused"].as_u64().unwrap() > 0, "{out}");
    // Exactly the contents the first lacks: nothing stored is uploaded again.
    let bucket = gateway.bucket.join("ring-a");
    let hashes = |name: &str| -> BTreeSet<String> {
        let path = bucket.join(format!("backups/{name}/members/cassandra-0.json"));
        json(&std::fs::read_to_string(path).unwrap())["files"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["sha256"].as_str().unwrap().to_owned())
            .collect()
    };
    let new = hashes("s3-second").difference(&hashes("s3-first")).count();
    assert_eq!(second["uploaded"]["files"], new, "{out}");
    let (code, out, err) = backup(ring, &target, &["verify", "s3-second"]);
    assert_eq!(code, 0, "{out}{err}");

    // The keys from a shared credentials file (a Secret mounted as a file), none in the
    // environment; a profile without them is an error that names the file, not a key.
    let keys = ring.spec.dir.join("aws-credentials");
    std::fs::write(
        &keys,
        format!(
            "[default]\naws_access_key_id = wrong\n\n[backup]\naws_access_key_id = {}\n\
             aws_secret_access_key = {}\n[empty]\n",
            common::s3::ACCESS,
            common::s3::SECRET
        ),
    )
    .unwrap();
    let from_file = |profile: &str| Target {
        store: "s3://ringkeeper/ring-a".into(),
        env: vec![
            ("AWS_SHARED_CREDENTIALS_FILE", keys.display().to_string()),
            ("AWS_PROFILE", profile.into()),
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:7070".into()),
            ("AWS_ALLOW_HTTP", "true".into()),
            ("AWS_REGION", "us-east-1".into()),
        ],
    };
    let (code, out, err) = backup(ring, &from_file("backup"), &["verify", "s3-first"]);
    assert_eq!(code, 0, "{out}{err}");
    let (code, _, err) = backup(ring, &from_file("empty"), &["list"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains(&format!(
            "AWS_SHARED_CREDENTIALS_FILE {}: profile [empty] lacks aws_access_key_id",
            keys.display()
        )),
        "{err}"
    );

    // An object damaged in the store's own files: verify reads it through S3.
    let manifest: serde_json::Value = json(
        &std::fs::read_to_string(bucket.join("backups/s3-second/members/cassandra-0.json"))
            .unwrap(),
    );
    let victim = manifest["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"].as_str().unwrap().ends_with("-Data.db"))
        .unwrap();
    let hash = victim["sha256"].as_str().unwrap();
    let object = bucket.join(format!("blobs/sha256/{}/{hash}", &hash[..2]));
    let size = std::fs::metadata(&object).unwrap().len() as usize;
    std::fs::write(&object, vec![7u8; size]).unwrap();
    let (code, out, err) = backup(ring, &target, &["verify", "s3-second"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains(&format!("blob {hash} is corrupt")), "{out}");

    // Wrong credentials; no store at the address.
    let (code, _, err) = backup(
        ring,
        &s3("not-the-secret", "http://127.0.0.1:7070"),
        &["list"],
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("the store refused the credentials"), "{err}");
    assert!(
        !err.contains("not-the-secret") && !err.contains(common::s3::SECRET),
        "{err}"
    );
    let (code, _, err) = backup(
        ring,
        &s3(common::s3::SECRET, "http://127.0.0.1:1"),
        &["list"],
    );
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("backup store s3://ringkeeper/ring-a: list"),
        "{err}"
    );
}
