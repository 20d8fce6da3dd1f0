//! The backup store: an object store behind `object_store` (a local directory, or S3 and
//! S3-compatible stores), reduced to what backups need: list keys, read and write small
//! objects, upload a file streamed, read an object back to hash it, delete.
//!
//! Memory is bounded whatever the file's size: a file is read 1 MiB at a time and
//! uploaded in parts of `PART` bytes, at most `PARTS_IN_FLIGHT` at once.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use object_store::aws::AmazonS3Builder;
use object_store::buffered::BufWriter;
use object_store::local::LocalFileSystem;
use object_store::path::Path as Key;
use object_store::prefix::PrefixStore;
use object_store::{BackoffConfig, ObjectStore, ObjectStoreExt, PutPayload, RetryConfig};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::config::StoreUrl;
use crate::decide::backup::verify::Found;

/// The size of an upload's parts (S3 takes parts of 5 MiB and more).
const PART: usize = 8 << 20;
/// Parts uploaded at once: with the part being filled, at most 3 × 8 MiB of a file in
/// memory.
const PARTS_IN_FLIGHT: usize = 2;
/// How much of a file is read at a time.
const READ_CHUNK: usize = 1 << 20;

/// A request that fails is tried again, at most 3 times and within 30 s: a store that
/// cannot be reached is reported within a minute, not after object_store's default
/// 3 minutes; a blip in an upload is still ridden out.
const RETRY: RetryConfig = RetryConfig {
    backoff: BackoffConfig {
        init_backoff: Duration::from_millis(200),
        max_backoff: Duration::from_secs(5),
        base: 2.0,
    },
    max_retries: 3,
    retry_timeout: Duration::from_secs(30),
};

/// Why the store did not do what was asked.
#[derive(Debug, thiserror::Error)]
#[error("backup store {store}: {op}: {detail}")]
pub struct StoreError {
    /// The store (its URL; never credentials).
    pub store: String,
    /// What was being done.
    pub op: String,
    /// What happened.
    pub detail: String,
}

/// An open store.
#[derive(Debug, Clone)]
pub struct Store {
    inner: Arc<dyn ObjectStore>,
    url: String,
}

/// The standard variables that hold an object store's secrets: read by this process's
/// store client only, never passed on to Cassandra.
pub const SECRET_VARIABLES: &[&str] = &[
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_ACCESS_KEY_ID",
];

/// Opens the store `url` names. A local directory is created if missing. S3's
/// credentials, region and endpoint come from the standard `AWS_*` variables (read by
/// `object_store`, the way every AWS tool reads them), never from flags or logs.
pub fn open(url: &StoreUrl) -> Result<Store, StoreError> {
    let name = url.to_string();
    let fail = |op: &str, e: &dyn std::fmt::Display| StoreError {
        store: name.clone(),
        op: op.to_owned(),
        detail: e.to_string(),
    };
    let inner: Arc<dyn ObjectStore> = match url {
        StoreUrl::Local(dir) => {
            std::fs::create_dir_all(dir).map_err(|e| fail("create the directory", &e))?;
            Arc::new(LocalFileSystem::new_with_prefix(dir).map_err(|e| fail("open", &e))?)
        }
        StoreUrl::S3 { bucket, prefix } => {
            let mut s3 = AmazonS3Builder::from_env()
                .with_bucket_name(bucket)
                .with_retry(RETRY);
            if let Some(keys) = keys_from_file().map_err(|e| fail("open", &e))? {
                s3 = s3
                    .with_access_key_id(keys.access_key_id)
                    .with_secret_access_key(keys.secret_access_key);
                if let Some(token) = keys.session_token {
                    s3 = s3.with_token(token);
                }
            }
            let s3 = s3.build().map_err(|e| fail("open", &e))?;
            if prefix.is_empty() {
                Arc::new(s3)
            } else {
                Arc::new(PrefixStore::new(s3, prefix.as_str()))
            }
        }
    };
    Ok(Store { inner, url: name })
}

/// S3's keys from the shared credentials file `AWS_SHARED_CREDENTIALS_FILE` names (profile
/// `AWS_PROFILE`, else `default`), when no `AWS_ACCESS_KEY_ID` is set: the variables win,
/// as in the AWS SDKs. None when neither is set (object_store then tries the pod's web
/// identity and the instance's role).
// The store's own standard variables are read here, beside object_store's reading of the
// others (`AmazonS3Builder::from_env`), not through clap: they belong to the store, and a
// flag for a secret's place would invite one for the secret.
#[allow(clippy::disallowed_methods)]
fn keys_from_file() -> Result<Option<crate::config::SharedKeys>, String> {
    if std::env::var_os("AWS_ACCESS_KEY_ID").is_some() {
        return Ok(None);
    }
    let Some(path) = std::env::var_os("AWS_SHARED_CREDENTIALS_FILE") else {
        return Ok(None);
    };
    let profile = std::env::var("AWS_PROFILE").unwrap_or_else(|_| "default".to_owned());
    let path = std::path::PathBuf::from(path);
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("AWS_SHARED_CREDENTIALS_FILE {}: {e}", path.display()))?;
    crate::config::shared_keys(&text, &profile)
        .map(Some)
        .map_err(|e| format!("AWS_SHARED_CREDENTIALS_FILE {}: {e}", path.display()))
}

impl Store {
    fn error(&self, op: impl Into<String>, e: impl std::fmt::Display) -> StoreError {
        StoreError {
            store: self.url.clone(),
            op: op.into(),
            detail: short(&e.to_string()),
        }
    }

    /// Every key under `prefix`, with its size.
    pub async fn keys(&self, prefix: &str) -> Result<Vec<(String, u64)>, StoreError> {
        let prefix = Key::from(prefix.trim_end_matches('/'));
        self.inner
            .list(Some(&prefix))
            .map_ok(|meta| (meta.location.to_string(), meta.size))
            .try_collect()
            .await
            .map_err(|e| self.error(format!("list {prefix}"), e))
    }

    /// A small object's bytes; `None` when there is none.
    pub async fn read(&self, key: &str) -> Result<Option<Bytes>, StoreError> {
        let got = match self.inner.get(&Key::from(key)).await {
            Ok(got) => got,
            Err(object_store::Error::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(self.error(format!("read {key}"), e)),
        };
        got.bytes()
            .await
            .map(Some)
            .map_err(|e| self.error(format!("read {key}"), e))
    }

    /// Writes a small object whole.
    pub async fn write(&self, key: &str, bytes: Vec<u8>) -> Result<(), StoreError> {
        self.inner
            .put(&Key::from(key), PutPayload::from(bytes))
            .await
            .map(|_| ())
            .map_err(|e| self.error(format!("write {key}"), e))
    }

    /// Deletes an object (gone already is fine).
    pub async fn delete(&self, key: &str) -> Result<(), StoreError> {
        match self.inner.delete(&Key::from(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(self.error(format!("delete {key}"), e)),
        }
    }

    /// Uploads the file at `path` as `key`, streamed, keeping to `pace`'s rate. The
    /// object appears whole or not at all (a multipart upload completes last; a local
    /// store renames a finished file).
    pub async fn upload(&self, path: &Path, key: &str, pace: &mut Pace) -> Result<(), StoreError> {
        let op = || format!("upload {} as {key}", path.display());
        let mut file = tokio::fs::File::open(path)
            .await
            .map_err(|e| self.error(op(), e))?;
        let mut writer = BufWriter::with_capacity(self.inner.clone(), Key::from(key), PART)
            .with_max_concurrency(PARTS_IN_FLIGHT);
        let mut buf = vec![0u8; READ_CHUNK];
        loop {
            let n = file.read(&mut buf).await.map_err(|e| self.error(op(), e))?;
            if n == 0 {
                break;
            }
            if let Err(e) = writer.write_all(&buf[..n]).await {
                let _ = writer.abort().await;
                return Err(self.error(op(), e));
            }
            pace.sent(n as u64).await;
        }
        writer.shutdown().await.map_err(|e| self.error(op(), e))
    }

    /// Downloads an object into a new file at `path`, streamed and hashed on the way;
    /// `None` when there is no such object. The caller checks the size and hash.
    pub async fn download(&self, key: &str, path: &Path) -> Result<Option<Found>, StoreError> {
        let op = || format!("download {key} to {}", path.display());
        let got = match self.inner.get(&Key::from(key)).await {
            Ok(got) => got,
            Err(object_store::Error::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(self.error(op(), e)),
        };
        if let Some(dir) = path.parent() {
            tokio::fs::create_dir_all(dir)
                .await
                .map_err(|e| self.error(op(), e))?;
        }
        let mut file = tokio::fs::File::create(path)
            .await
            .map_err(|e| self.error(op(), e))?;
        let mut stream = got.into_stream();
        let mut hasher = Sha256::new();
        let mut size = 0u64;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| self.error(op(), e))?;
            size += chunk.len() as u64;
            hasher.update(&chunk);
            file.write_all(&chunk)
                .await
                .map_err(|e| self.error(op(), e))?;
        }
        file.sync_all().await.map_err(|e| self.error(op(), e))?;
        Ok(Some(Found {
            size,
            sha256: hex(&hasher.finalize()),
        }))
    }

    /// Reads an object whole, streamed, and hashes it; `None` when there is none.
    pub async fn hash(&self, key: &str) -> Result<Option<Found>, StoreError> {
        let got = match self.inner.get(&Key::from(key)).await {
            Ok(got) => got,
            Err(object_store::Error::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(self.error(format!("read {key}"), e)),
        };
        let mut stream = got.into_stream();
        let mut hasher = Sha256::new();
        let mut size = 0u64;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| self.error(format!("read {key}"), e))?;
            size += chunk.len() as u64;
            hasher.update(&chunk);
        }
        Ok(Some(Found {
            size,
            sha256: hex(&hasher.finalize()),
        }))
    }
}

/// An S3 error without the XML document the store sent (its request IDs, canonical
/// request and bytes of the string to sign), keeping its error code, and what to check
/// when the code says the credentials were refused.
fn short(text: &str) -> String {
    let Some(xml) = text.find("<?xml").or_else(|| text.find("<Error>")) else {
        return text.to_owned();
    };
    let head = text[..xml].trim_end_matches([' ', ':', '-']);
    let code = text
        .split_once("<Code>")
        .and_then(|(_, rest)| rest.split_once("</Code>"))
        .map(|(code, _)| code);
    match code {
        Some(code @ ("SignatureDoesNotMatch" | "InvalidAccessKeyId" | "AccessDenied")) => format!(
            "{head}: {code}: the store refused the credentials (AWS_ACCESS_KEY_ID, \
             AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, the AWS_SHARED_CREDENTIALS_FILE, or the \
             pod's web identity)"
        ),
        Some(code) => format!("{head}: {code}"),
        None => head.to_owned(),
    }
}

/// Every blob in the store, with its size.
pub async fn blobs(store: &Store) -> Result<std::collections::BTreeMap<String, u64>, StoreError> {
    use crate::decide::backup::layout::{self, Key};
    Ok(store
        .keys(layout::BLOBS)
        .await?
        .into_iter()
        .filter_map(|(key, size)| match layout::parse(&key) {
            Key::Blob { sha256 } => Some((sha256, size)),
            _ => None,
        })
        .collect())
}

/// The backups under `prefix` (`layout::BACKUPS`, or one backup's prefix), with their
/// parts: listed, and each set backup's request read for the pods it asks for.
pub async fn backups(
    store: &Store,
    prefix: &str,
) -> anyhow::Result<Vec<crate::decide::backup::catalog::Backup>> {
    use crate::decide::backup::layout::{self, Key};
    use crate::decide::backup::manifest::Request;
    let keys = store.keys(prefix).await?;
    let mut requested = std::collections::BTreeMap::new();
    for (key, _) in &keys {
        if let Key::Request { backup } = layout::parse(key)
            && let Some(bytes) = store.read(key).await?
        {
            let request: Request = serde_json::from_slice(&bytes)
                .map_err(|e| anyhow::anyhow!("{key} is not a backup request: {e}"))?;
            requested.insert(backup, request.pods);
        }
    }
    Ok(crate::decide::backup::catalog::catalog(
        keys.iter().map(|(k, _)| layout::parse(k)),
        &requested,
    ))
}

/// The uploads' rate limit, across every file of a backup.
#[derive(Debug)]
pub struct Pace {
    started: std::time::Instant,
    sent: u64,
    rate: Option<u64>,
}

impl Pace {
    /// From now on, at most `rate` bytes a second (`None`: no limit).
    pub fn new(rate: Option<u64>) -> Self {
        Pace {
            started: std::time::Instant::now(),
            sent: 0,
            rate,
        }
    }

    /// Counts `bytes` sent, and waits while the upload is ahead of the rate.
    async fn sent(&mut self, bytes: u64) {
        self.sent += bytes;
        let wait =
            crate::decide::backup::upload::pause(self.sent, self.started.elapsed(), self.rate);
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }
}

/// The SHA-256 of a file, read 1 MiB at a time.
pub async fn hash_file(path: &Path) -> std::io::Result<String> {
    let mut file = tokio::fs::File::open(path).await?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; READ_CHUNK];
    loop {
        let n = file.read(&mut buf).await?;
        if n == 0 {
            return Ok(hex(&hasher.finalize()));
        }
        hasher.update(&buf[..n]);
    }
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::with_capacity(64), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s3_errors_keep_their_code_not_the_document() {
        let cases = [
            (
                "Error performing GET http://h/b in 2ms - Server returned non-2xx status code: \
                 403 Forbidden: <?xml version=\"1.0\"?><Error><Code>SignatureDoesNotMatch</Code>\
                 <StringToSign>AWS4</StringToSign></Error>",
                "Error performing GET http://h/b in 2ms - Server returned non-2xx status code: \
                 403 Forbidden: SignatureDoesNotMatch: the store refused the credentials \
                 (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, the \
                 AWS_SHARED_CREDENTIALS_FILE, or the pod's web identity)",
            ),
            (
                "404 Not Found: <Error><Code>NoSuchBucket</Code></Error>",
                "404 Not Found: NoSuchBucket",
            ),
            (
                "HTTP error: error sending request",
                "HTTP error: error sending request",
            ),
        ];
        for (text, want) in cases {
            assert_eq!(short(text), want);
        }
    }

    #[tokio::test]
    async fn a_local_store_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(&StoreUrl::Local(dir.path().join("store"))).unwrap();
        let src = dir.path().join("f");
        // Larger than a part: the multipart path.
        let data: Vec<u8> = (0..(PART + 12345)).map(|i| (i % 251) as u8).collect();
        std::fs::write(&src, &data).unwrap();
        let hash = hash_file(&src).await.unwrap();
        assert_eq!(hash.len(), 64);
        store
            .upload(&src, "blobs/x", &mut Pace::new(None))
            .await
            .unwrap();
        let found = store.hash("blobs/x").await.unwrap().unwrap();
        assert_eq!(
            (found.size, found.sha256.as_str()),
            (data.len() as u64, hash.as_str())
        );
        assert!(store.hash("blobs/none").await.unwrap().is_none());
        let copy = dir.path().join("copy/f");
        let got = store.download("blobs/x", &copy).await.unwrap().unwrap();
        assert_eq!(got, found);
        assert_eq!(std::fs::read(&copy).unwrap(), data);
        assert!(store.download("blobs/none", &copy).await.unwrap().is_none());
        store
            .write("backups/a/members/p.json", b"{}".to_vec())
            .await
            .unwrap();
        assert_eq!(
            store
                .read("backups/a/members/p.json")
                .await
                .unwrap()
                .unwrap(),
            "{}"
        );
        assert!(store.read("backups/a/none").await.unwrap().is_none());
        let mut keys = store.keys("").await.unwrap();
        keys.sort();
        assert_eq!(
            keys,
            [
                ("backups/a/members/p.json".to_owned(), 2),
                ("blobs/x".to_owned(), data.len() as u64)
            ]
        );
        store.delete("blobs/x").await.unwrap();
        store.delete("blobs/x").await.unwrap();
        assert_eq!(store.keys("blobs/").await.unwrap(), []);
        // The empty file's well-known hash.
        std::fs::write(&src, "").unwrap();
        assert_eq!(
            hash_file(&src).await.unwrap(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
