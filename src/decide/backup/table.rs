//! Pure. One table of a backup: its files in a node's part, and its CREATE statement in
//! the schema the backup kept (for a table that was dropped).

use super::manifest::{FileEntry, Manifest};

/// Checks `<keyspace>.<table>`: two CQL identifiers (letters, digits, '_'), as Cassandra
/// names them on disk. The error says what is valid.
pub fn parse_name(text: &str) -> Result<(String, String), String> {
    let ident = |s: &str| {
        !s.is_empty() && s.len() <= 48 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
    };
    match text.split_once('.') {
        Some((ks, t)) if ident(ks) && ident(t) => Ok((ks.to_owned(), t.to_owned())),
        _ => Err(format!(
            "{text:?} is not a table: expected <keyspace>.<table>, each of letters, digits and '_'"
        )),
    }
}

/// The table's own files in a part: `<data dir>/<ks>/<table>-<id>/<file>`, not its
/// secondary indexes' (rebuilt by the import).
pub fn files<'a>(manifest: &'a Manifest, keyspace: &str, table: &str) -> Vec<&'a FileEntry> {
    manifest
        .files
        .iter()
        .filter(|f| {
            let parts: Vec<&str> = f.path.split('/').collect();
            let n = parts.len();
            n >= 4
                && parts[n - 3] == keyspace
                && parts[n - 2]
                    .rsplit_once('-')
                    .is_some_and(|(name, id)| name == table && id.len() == 32)
        })
        .collect()
}

/// The table's CREATE statement in `DESCRIBE SCHEMA`'s output, made idempotent
/// (`IF NOT EXISTS`); `None` when the schema has no such table.
pub fn create_statement(schema_cql: &str, keyspace: &str, table: &str) -> Option<String> {
    let head = format!("CREATE TABLE {keyspace}.{table} (");
    schema_cql
        .split("\n\n")
        .map(str::trim)
        .find(|s| s.starts_with(&head))
        .map(|s| s.replacen("CREATE TABLE ", "CREATE TABLE IF NOT EXISTS ", 1))
}

#[cfg(test)]
mod tests {
    use super::super::manifest::{NodeIdentity, Transfer};
    use super::*;

    fn part(paths: &[&str]) -> Manifest {
        Manifest {
            format: 1,
            backup: "b".into(),
            pod: "p".into(),
            node: NodeIdentity::default(),
            snapshot_at: 0,
            duration_ms: 0,
            schema_cql: String::new(),
            files: paths
                .iter()
                .map(|p| FileEntry {
                    path: (*p).into(),
                    size: 1,
                    sha256: "x".into(),
                    mtime_ns: 0,
                })
                .collect(),
            transfer: Transfer::default(),
            join_record: None,
        }
    }

    #[test]
    fn a_tables_files() {
        let id = "0123456789abcdef0123456789abcdef";
        let m = part(&[
            &format!("data/ks/t-{id}/nb-1-big-Data.db"),
            &format!("data/ks/t-{id}/nb-1-big-TOC.txt"),
            &format!("data/ks/t-{id}/.idx/nb-1-big-SAI.db"),
            &format!("data/ks/t2-{id}/nb-1-big-Data.db"),
            "data/ks/t-short/nb-1-big-Data.db",
            &format!("data/other/t-{id}/nb-1-big-Data.db"),
            &format!("data/system/local-{id}/nb-1-big-Data.db"),
        ]);
        let got: Vec<&str> = files(&m, "ks", "t")
            .iter()
            .map(|f| f.path.as_str())
            .collect();
        assert_eq!(
            got,
            [
                format!("data/ks/t-{id}/nb-1-big-Data.db"),
                format!("data/ks/t-{id}/nb-1-big-TOC.txt")
            ]
        );
    }

    #[test]
    fn names_and_statements() {
        assert_eq!(parse_name("ks.t_1").unwrap(), ("ks".into(), "t_1".into()));
        for bad in ["ks", "ks.", ".t", "ks.t.u", "ks.t-1", "k s.t"] {
            assert!(
                parse_name(bad)
                    .unwrap_err()
                    .contains("expected <keyspace>.<table>"),
                "{bad}"
            );
        }
        let schema = "CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy'} AND durable_writes = true;\n\n\
                      CREATE TABLE ks.t (\n    k int PRIMARY KEY,\n    v text\n) WITH comment = '';\n\n\
                      CREATE TABLE ks.t2 (\n    k int PRIMARY KEY\n);";
        assert_eq!(
            create_statement(schema, "ks", "t").unwrap(),
            "CREATE TABLE IF NOT EXISTS ks.t (\n    k int PRIMARY KEY,\n    v text\n) WITH comment = '';"
        );
        assert!(create_statement(schema, "ks", "t3").is_none());
    }
}
