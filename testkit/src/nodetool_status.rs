//! `nodetool status`, read: one parser for every test and the harness.

/// One member line: `UN  10.0.0.1  70.3 KiB  16  100.0%  <host ID>  rack1`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusLine {
    /// `UN`, `DN`, `UJ`, `UL`, `UM`, ...
    pub state: String,
    /// The address as printed (no port).
    pub address: String,
    /// The host ID.
    pub host_id: String,
    /// The rack.
    pub rack: String,
}

impl StatusLine {
    /// Up and NORMAL.
    pub fn is_un(&self) -> bool {
        self.state == "UN"
    }
}

/// The member lines of `nodetool status` output (every DC's).
pub fn parse(text: &str) -> Vec<StatusLine> {
    text.lines()
        .filter_map(|line| {
            let w: Vec<&str> = line.split_whitespace().collect();
            let state = *w.first()?;
            let valid =
                state.len() == 2 && "UD".contains(&state[..1]) && "NLJM".contains(&state[1..]);
            // State, address, load (one or two words), tokens, owns, host ID, rack.
            (valid && w.len() >= 7).then(|| StatusLine {
                state: state.to_owned(),
                address: w[1].split(':').next().unwrap_or_default().to_owned(),
                host_id: w[w.len() - 2].to_owned(),
                rack: w[w.len() - 1].to_owned(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_of_every_state_and_nothing_else() {
        let text = "Datacenter: dc1\n===============\nStatus=Up/Down\n|/ State=Normal/Leaving/Joining/Moving\n--  Address      Load       Tokens  Owns (effective)  Host ID                               Rack\nUN  10.0.0.1     70.3 KiB   16      100.0%            11111111-1111-1111-1111-111111111111  rack1\nDN  10.0.0.2:7000  ?        16      100.0%            22222222-2222-2222-2222-222222222222  rack2\nUJ  10.0.0.3     1 KiB      16      ?                 33333333-3333-3333-3333-333333333333  rack1\n";
        let got = parse(text);
        assert_eq!(got.len(), 3, "{got:?}");
        assert!(got[0].is_un());
        assert_eq!(got[1].address, "10.0.0.2");
        assert_eq!(got[1].host_id, "22222222-2222-2222-2222-222222222222");
        assert_eq!(got[1].rack, "rack2");
        assert_eq!(got[2].state, "UJ");
    }
}
