//! A single "pod" for tests that run the ringkeeper binary without Cassandra: a network
//! namespace with a kubelet-style resolv.conf, a real DNS server in it whose zone the test
//! changes in place, and a data directory.

use std::net::IpAddr;
use std::process::Command;
use std::sync::{Arc, RwLock};

use crate::dns::{Answer, DnsThread, Zone, ZoneSource};
use crate::netns::{Netns, pod_resolv_conf};

/// See the module documentation.
pub struct Pod {
    /// The namespace the binary runs in.
    pub netns: Netns,
    /// The DNS zone, shared with the server.
    pub zone: Arc<RwLock<Zone>>,
    _dns: DnsThread,
    /// The data directory (empty at first).
    pub data: tempfile::TempDir,
    /// The run directory (`--run-dir`).
    pub run: tempfile::TempDir,
}

impl Pod {
    /// A pod in Kubernetes namespace `namespace` of a cluster with DNS domain `domain`.
    /// `test` makes the network namespace name unique. Needs root.
    pub fn new(test: &str, namespace: &str, domain: &str) -> Pod {
        let name = format!("rkp-{}-{test}", std::process::id() % 100_000);
        let netns = Netns::create(&name, &pod_resolv_conf(namespace, domain, "127.0.0.53"))
            .expect("a network namespace (run the tests as root)");
        let zone = Arc::new(RwLock::new(Zone::default()));
        let dns = DnsThread::start(
            "127.0.0.53:53".parse().expect("valid address"),
            Some(&netns),
            ZoneSource::Shared(zone.clone()),
        )
        .expect("the test DNS server");
        Pod {
            netns,
            zone,
            _dns: dns,
            data: tempfile::tempdir().expect("a temporary directory"),
            run: tempfile::tempdir().expect("a temporary directory"),
        }
    }

    /// Publishes a name's addresses.
    pub fn set(&self, name: &str, ips: &[&str]) {
        let ips: Vec<IpAddr> = ips.iter().map(|s| s.parse().expect("an IP")).collect();
        self.zone.write().expect("zone lock").set(name, &ips);
    }

    /// Sets any answer for a name.
    pub fn answer(&self, name: &str, answer: Answer) {
        self.zone.write().expect("zone lock").answer(name, answer);
    }

    /// Sets the answer for every name not listed.
    pub fn otherwise(&self, answer: Answer) {
        self.zone.write().expect("zone lock").otherwise = Some(answer);
    }

    /// Makes the data directory look like a node that has run before: a flushed
    /// `system.local` sstable in Cassandra's default layout, and the record of its join.
    pub fn give_data(&self) {
        let local = self
            .data
            .path()
            .join("data/system/local-7ad54392bcdd35a684174e047860b377");
        std::fs::create_dir_all(&local).expect("create data dir");
        std::fs::write(local.join("nb-1-big-Data.db"), b"x").expect("write sstable");
        // As the entrypoint records it once the node reported bootstrapped = COMPLETED.
        std::fs::write(
            self.data.path().join("ringkeeper-joined"),
            b"host_id=00000000-0000-4000-8000-000000000001\n",
        )
        .expect("write joined marker");
    }

    /// `ringkeeper <args>` inside the namespace, with a clean environment and the data dir.
    pub fn ringkeeper(&self, binary: &str, subcommand: &str) -> Command {
        let mut cmd = self.netns.command(binary);
        cmd.env_clear()
            .env("PATH", "/usr/local/bin:/usr/bin:/bin")
            .arg(subcommand)
            .arg("--data-dir")
            .arg(self.data.path());
        cmd
    }
}
