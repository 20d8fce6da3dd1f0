//! The cluster's network, as a CNI plugin lays it out on one node: a "node" network
//! namespace with a bridge (where the API server and the cluster DNS listen), and one
//! network namespace per pod with its own loopback (so every pod has its own
//! 127.0.0.1:7199, as in a real pod) and an `eth0` on the bridge holding the pod IP.

use std::net::Ipv4Addr;
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::netns::Netns;

/// The bridge's MAC address (see [`Network::create`]).
const BRIDGE_MAC: &str = "02:72:6b:00:00:01";

/// The bridge's address: API server, cluster DNS, default gateway of every pod.
pub const GATEWAY: Ipv4Addr = Ipv4Addr::new(10, 244, 0, 1);
/// First pod address (the last octet grows by one per pod, never reused within a test).
const FIRST_POD_OCTET: u8 = 10;

fn ip(args: &[&str]) -> Result<()> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .context("running ip")?;
    if !out.status.success() {
        bail!(
            "ip {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

/// The node namespace and its bridge.
pub struct Network {
    /// The node's network namespace.
    pub node: Netns,
    prefix: String,
    next_octet: u8,
}

/// A pod's network: its namespace and address.
pub struct PodNetwork {
    /// The pod's network namespace (deleted on drop, which removes its veth too).
    pub netns: Netns,
    /// The pod IP.
    pub ip: Ipv4Addr,
}

impl Network {
    /// Creates the node namespace `<prefix>-node` with a bridge at [`GATEWAY`]/24.
    /// `prefix` must be short (namespace names are `<prefix>-<pod>`).
    pub fn create(prefix: &str, resolv_conf: &str) -> Result<Network> {
        let node = Netns::create(&format!("{prefix}-node"), resolv_conf)?;
        let ns = node.name.clone();
        // A fixed address: a bridge without one takes the lowest of its ports' addresses,
        // so attaching or removing a pod would change the gateway's MAC under the other
        // pods, whose ARP entries then send DNS and API traffic nowhere until they expire
        // (about a minute; pod-to-pod traffic goes on). Locally administered, unicast.
        ip(&[
            "-n", &ns, "link", "add", "br0", "address", BRIDGE_MAC, "type", "bridge",
        ])?;
        ip(&[
            "-n",
            &ns,
            "addr",
            "add",
            &format!("{GATEWAY}/24"),
            "dev",
            "br0",
        ])?;
        ip(&["-n", &ns, "link", "set", "br0", "up"])?;
        Ok(Network {
            node,
            prefix: prefix.to_owned(),
            next_octet: FIRST_POD_OCTET,
        })
    }

    /// Gives a pod a fresh namespace and address on the bridge. `id` names the namespace
    /// and must be unique among live pods.
    pub fn attach(&mut self, id: &str, resolv_conf: &str) -> Result<PodNetwork> {
        let octet = self.next_octet;
        self.next_octet = self
            .next_octet
            .checked_add(1)
            .context("out of pod addresses")?;
        let pod_ip = Ipv4Addr::new(10, 244, 0, octet);
        let netns = Netns::create(&format!("{}-{id}", self.prefix), resolv_conf)?;
        let host_side = format!("veth{octet}");
        ip(&[
            "-n",
            &self.node.name,
            "link",
            "add",
            &host_side,
            "type",
            "veth",
            "peer",
            "name",
            "eth0",
            "netns",
            &netns.name,
        ])?;
        ip(&[
            "-n",
            &self.node.name,
            "link",
            "set",
            &host_side,
            "master",
            "br0",
            "up",
        ])?;
        let pod = &netns.name;
        ip(&[
            "-n",
            pod,
            "addr",
            "add",
            &format!("{pod_ip}/24"),
            "dev",
            "eth0",
        ])?;
        ip(&["-n", pod, "link", "set", "eth0", "up"])?;
        ip(&[
            "-n",
            pod,
            "route",
            "add",
            "default",
            "via",
            &GATEWAY.to_string(),
        ])?;
        Ok(PodNetwork { netns, ip: pod_ip })
    }
}
