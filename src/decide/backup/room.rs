//! Pure. Whether a node's volume has room for a snapshot.
//!
//! A snapshot's hard links cost nothing when taken, but from then on compaction's new
//! files are written beside the old ones the snapshot keeps: in the worst case (a major
//! compaction while the upload runs) the volume must hold the node's data twice.

/// Ok when `free` bytes can hold another copy of the `live` bytes on the volume; the
/// refusal says both and what to do.
pub fn for_snapshot(free: u64, live: u64) -> Result<(), String> {
    if free >= live {
        return Ok(());
    }
    Err(format!(
        "the data volume has {} free and the node's files take {}: a snapshot keeps files \
         that compaction replaces, so it could fill the volume; grow the volume or free \
         space first",
        gib(free),
        gib(live)
    ))
}

fn gib(bytes: u64) -> String {
    format!("{:.2} GiB", bytes as f64 / f64::from(1u32 << 30))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn room_is_another_copy_of_the_data() {
        let g = 1u64 << 30;
        // (free, live, allowed)
        let cases = [
            (10 * g, 4 * g, true),
            (4 * g, 4 * g, true),
            (3 * g, 4 * g, false),
            (0, 0, true),
        ];
        for (free, live, ok) in cases {
            assert_eq!(for_snapshot(free, live).is_ok(), ok, "{free} {live}");
        }
        assert_eq!(
            for_snapshot(3 * g, 4 * g).unwrap_err(),
            "the data volume has 3.00 GiB free and the node's files take 4.00 GiB: a snapshot \
             keeps files that compaction replaces, so it could fill the volume; grow the volume \
             or free space first"
        );
    }
}
