//! What a decommission costs: the node's load as gossip or nodetool report it, the ring
//! delay, and the time estimate the deadline is checked against.

use super::*;

/// The rate at which the decommission is assumed to stream this node's data away:
/// 10 MiB/s. Cassandra throttles outbound streaming per node at
/// `stream_throughput_outbound` (24 MiB/s by default in 4.1 and 5.0; 200 Mbit/s, about the
/// same, in 4.0), and a decommission streams only outbound, so it never goes faster than
/// that unless an operator raised it. Under client load, with compaction on the receivers
/// and disks shared with the running node, streams reach well under the cap; assuming less
/// than half of it keeps the estimate on the safe side: a decommission the deadline cuts
/// short leaves the node LEAVING, worse than a drain.
pub const STREAM_RATE_BYTES_PER_S: u64 = 10 * 1024 * 1024;

/// Cassandra's `RING_DELAY` when `cassandra.ring_delay_ms` is not set: a decommission
/// sleeps it twice (after gossiping LEAVING, and after LEFT).
pub const DEFAULT_RING_DELAY: Duration = Duration::from_secs(30);

/// What a decommission costs besides the two ring delays and streaming: starting
/// nodetool's JVM (1 s idle, 5-7 s on a busy 2-core node), replaying the batchlog and
/// streaming hints, the end of the decommission (the gossip shutdown announcement, 2 s;
/// 5.0 waits up to `native_transport_timeout`, 12 s, for requests in flight), and the
/// nodetool run that verifies the mode.
pub const DECOMMISSION_OVERHEAD: Duration = Duration::from_secs(30);

/// How long a decommission of `load_bytes` takes at most: two ring delays, streaming at
/// `STREAM_RATE_BYTES_PER_S`, and `DECOMMISSION_OVERHEAD`.
pub fn estimate(load_bytes: u64, ring_delay: Duration) -> Duration {
    let streaming = Duration::from_secs(load_bytes.div_ceil(STREAM_RATE_BYTES_PER_S));
    ring_delay * 2 + streaming + DECOMMISSION_OVERHEAD
}

/// Bytes for people: `1.5 GiB`.
pub fn bytes_text(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["bytes", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} bytes")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// The load gossip carries (`system_views.gossip_info.load`: bytes, as a decimal number).
pub fn gossip_load(value: Option<&str>) -> Option<u64> {
    let v: f64 = value?.trim().parse().ok()?;
    (v.is_finite() && v >= 0.0).then_some(v as u64)
}

/// The `Load : 1.5 MiB` line of `nodetool info`.
pub fn nodetool_load(text: &str) -> Option<u64> {
    let line = text.lines().find_map(|l| {
        let (key, value) = l.split_once(':')?;
        (key.trim() == "Load").then_some(value.trim())
    })?;
    let mut words = line.split_whitespace();
    let number: f64 = words.next()?.parse().ok()?;
    let scale: f64 = match words.next().unwrap_or("bytes") {
        "bytes" | "B" => 1.0,
        "KiB" | "KB" => 1024.0,
        "MiB" | "MB" => 1024.0 * 1024.0,
        "GiB" | "GB" => 1024.0 * 1024.0 * 1024.0,
        "TiB" | "TB" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
        _ => return None,
    };
    let bytes = number * scale;
    (bytes.is_finite() && bytes >= 0.0).then_some(bytes as u64)
}

/// Cassandra's ring delay from `system_views.system_properties`'
/// `cassandra.ring_delay_ms` (unset: the default).
pub fn ring_delay(value: Option<&str>) -> Duration {
    value
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map_or(DEFAULT_RING_DELAY, Duration::from_millis)
}
