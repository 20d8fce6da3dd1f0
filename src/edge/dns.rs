//! DNS lookups over hickory-resolver, configured from the system's /etc/resolv.conf
//! (name servers, search domains, `ndots`, timeouts), with the cache turned off so a
//! name that starts resolving during the wait is seen at the next round.

use std::time::Duration;

use hickory_resolver::TokioResolver;
use hickory_resolver::net::{DnsError, NetError};
use hickory_resolver::proto::op::ResponseCode;

use crate::decide::seeds::Lookup;

/// A resolver built from the system configuration.
#[derive(Clone)]
pub struct Dns {
    resolver: TokioResolver,
}

impl Dns {
    /// Reads /etc/resolv.conf and builds the resolver.
    pub fn from_system_conf() -> anyhow::Result<Self> {
        let mut builder = TokioResolver::builder_tokio().map_err(|e| {
            anyhow::anyhow!("cannot read the resolver configuration /etc/resolv.conf: {e}")
        })?;
        let opts = builder.options_mut();
        // No caching: every round asks the server, so records that appear (or change)
        // during the wait are seen, and a stale answer never outlives the round.
        opts.cache_size = 0;
        let resolver = builder
            .build()
            .map_err(|e| anyhow::anyhow!("cannot build a DNS resolver: {e}"))?;
        Ok(Dns { resolver })
    }

    /// The per-query timeout and attempts in effect (from resolv.conf `options`).
    pub fn timeouts(&self) -> (Duration, usize) {
        let opts = self.resolver.options();
        (opts.timeout, opts.attempts)
    }

    /// Looks up one name. `absolute` names are asked as written (a trailing dot is added),
    /// others go through the search list according to `ndots`.
    pub async fn lookup(&self, name: &str, absolute: bool) -> Lookup {
        let query = if absolute {
            format!("{name}.")
        } else {
            name.to_owned()
        };
        match self.resolver.lookup_ip(query.as_str()).await {
            Ok(answer) => {
                let mut addresses: Vec<_> = Vec::new();
                for ip in answer.iter() {
                    if !addresses.contains(&ip) {
                        addresses.push(ip);
                    }
                }
                if addresses.is_empty() {
                    Lookup::Absent
                } else {
                    Lookup::Resolved { addresses }
                }
            }
            Err(error) => classify(&error),
        }
    }
}

fn classify(error: &NetError) -> Lookup {
    match error {
        NetError::Dns(DnsError::NoRecordsFound(no)) => match no.response_code {
            ResponseCode::NXDomain | ResponseCode::NoError => Lookup::Absent,
            code => Lookup::ServerError {
                code: code_name(code),
            },
        },
        NetError::Dns(DnsError::ResponseCode(code)) => Lookup::ServerError {
            code: code_name(*code),
        },
        NetError::Timeout => Lookup::Timeout,
        other => {
            let text = other.to_string();
            // The name-server pool reports "all servers timed out" in several shapes.
            if text.contains("timed out") || text.contains("timeout") {
                Lookup::Timeout
            } else {
                Lookup::Failed { error: text }
            }
        }
    }
}

fn code_name(code: ResponseCode) -> String {
    match code {
        ResponseCode::ServFail => "SERVFAIL".into(),
        ResponseCode::Refused => "REFUSED".into(),
        ResponseCode::NXDomain => "NXDOMAIN".into(),
        other => other.to_string(),
    }
}
