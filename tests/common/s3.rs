//! The test S3 store: Versity's S3 gateway on its POSIX backend (`tests/s3/build` builds it
//! from the Go module proxy once, cached by version), one bucket, `ringkeeper`, as a
//! directory whose objects a test can read and damage as files.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use ringkeeper_testkit::netns::Netns;
use ringkeeper_testkit::ring::repo_root;

/// The gateway's access key and secret.
pub const ACCESS: &str = "ringkeeper-test";
pub const SECRET: &str = "s3cret-of-the-test-store";
/// The bucket.
pub const BUCKET: &str = "ringkeeper";

/// The gateway's binary, built first (call it before reserving Cassandra nodes).
pub fn gateway_binary() -> PathBuf {
    let out = std::process::Command::new(repo_root().join("tests/s3/build"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "tests/s3/build: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
}

/// A gateway this test started, stopped (by its PID, through its handle) when the test
/// ends however it ends.
pub struct Gateway {
    child: std::process::Child,
    /// The bucket's directory: `<root>/ringkeeper`.
    pub bucket: PathBuf,
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `binary` in `netns`, listening on `listen`, its data under `root` (log beside
/// it), and waits until it accepts connections.
pub fn start(binary: &Path, netns: &Netns, listen: SocketAddr, root: &Path) -> Gateway {
    let bucket = root.join(BUCKET);
    std::fs::create_dir_all(&bucket).unwrap();
    let log = root.with_extension("log");
    let child = netns
        .command(binary)
        .args(["--access", ACCESS, "--secret", SECRET])
        .args(["--port", &listen.to_string(), "posix"])
        .arg(root)
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .unwrap();
    let gateway = Gateway { child, bucket };
    super::eventually(Duration::from_secs(30), || {
        netns
            .in_thread(move || {
                std::net::TcpStream::connect_timeout(&listen, Duration::from_millis(300)).is_ok()
            })
            .unwrap()
            .then_some(())
            .ok_or("the S3 gateway does not listen yet".to_owned())
    });
    gateway
}
