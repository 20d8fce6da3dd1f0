//! A real DNS server for tests, playing the cluster DNS that answers for a headless
//! Service: hickory-server's UDP and TCP front end with a handler that answers from a
//! [`Zone`] the test controls. Per name it can answer addresses, NXDOMAIN, SERVFAIL, or
//! stay silent (to make clients time out).

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use hickory_proto::op::{Header, HeaderCounts, Metadata, ResponseCode};
use hickory_proto::rr::rdata::{A, AAAA};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use hickory_server::Server;
use hickory_server::net::runtime::Time;
use hickory_server::server::{Request, RequestHandler, ResponseHandler, ResponseInfo};
use hickory_server::zone_handler::MessageResponseBuilder;

use crate::netns::Netns;

/// What the server says for a name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// These addresses (A for IPv4, AAAA for IPv6).
    Addresses(Vec<IpAddr>),
    /// NXDOMAIN.
    NxDomain,
    /// SERVFAIL.
    ServFail,
    /// No answer at all.
    Drop,
}

/// The names the server knows. Names are lower case, without the trailing dot.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Zone {
    /// Per-name answers.
    pub names: BTreeMap<String, Answer>,
    /// Answer for names not listed (default NXDOMAIN).
    pub otherwise: Option<Answer>,
}

impl Zone {
    /// Sets the addresses of a name.
    pub fn set(&mut self, name: &str, addresses: &[IpAddr]) {
        self.names
            .insert(normalize(name), Answer::Addresses(addresses.to_vec()));
    }

    /// Sets any answer for a name.
    pub fn answer(&mut self, name: &str, answer: Answer) {
        self.names.insert(normalize(name), answer);
    }

    /// Removes a name (it becomes NXDOMAIN, or `otherwise`).
    pub fn remove(&mut self, name: &str) {
        self.names.remove(&normalize(name));
    }

    fn lookup(&self, name: &str) -> Answer {
        self.names
            .get(name)
            .or(self.otherwise.as_ref())
            .cloned()
            .unwrap_or(Answer::NxDomain)
    }

    /// Text form, one name per line: `<name> <ip>[,<ip>...] | NXDOMAIN | SERVFAIL | DROP`;
    /// `*` names the answer for everything else.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let line = |name: &str, answer: &Answer| {
            let what = match answer {
                Answer::Addresses(ips) => ips
                    .iter()
                    .map(|ip| ip.to_string())
                    .collect::<Vec<_>>()
                    .join(","),
                Answer::NxDomain => "NXDOMAIN".into(),
                Answer::ServFail => "SERVFAIL".into(),
                Answer::Drop => "DROP".into(),
            };
            format!("{name} {what}\n")
        };
        if let Some(answer) = &self.otherwise {
            out.push_str(&line("*", answer));
        }
        for (name, answer) in &self.names {
            out.push_str(&line(name, answer));
        }
        out
    }

    /// Parses the text form.
    pub fn parse(text: &str) -> Result<Zone> {
        let mut zone = Zone::default();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (name, what) = line
                .split_once(char::is_whitespace)
                .with_context(|| format!("zone line {}: expected `<name> <answer>`", n + 1))?;
            let answer = match what.trim() {
                "NXDOMAIN" => Answer::NxDomain,
                "SERVFAIL" => Answer::ServFail,
                "DROP" => Answer::Drop,
                ips => Answer::Addresses(
                    ips.split(',')
                        .map(|ip| ip.trim().parse())
                        .collect::<Result<_, _>>()
                        .with_context(|| {
                            format!("zone line {}: bad address list {ips:?}", n + 1)
                        })?,
                ),
            };
            if name == "*" {
                zone.otherwise = Some(answer);
            } else {
                zone.answer(name, answer);
            }
        }
        Ok(zone)
    }
}

fn normalize(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

/// Where the handler reads the zone from.
#[derive(Clone)]
pub enum ZoneSource {
    /// Shared with the test, which changes it in place.
    Shared(Arc<RwLock<Zone>>),
    /// A file in the text form, checked at every query (so edits apply at once) and
    /// parsed again only when it changed. An unreadable file answers SERVFAIL.
    File(PathBuf),
}

/// Identity of a zone file version: replaced files (rename) get a new inode.
type FileStamp = (std::time::SystemTime, u64, u64);

struct Handler {
    zone: ZoneSource,
    parsed: std::sync::Mutex<Option<(FileStamp, Answerer)>>,
}

type Answerer = Arc<Zone>;

impl Handler {
    fn new(zone: ZoneSource) -> Self {
        Handler {
            zone,
            parsed: std::sync::Mutex::new(None),
        }
    }

    fn answer(&self, name: &str) -> Answer {
        match &self.zone {
            ZoneSource::Shared(zone) => zone.read().expect("zone lock poisoned").lookup(name),
            ZoneSource::File(path) => match self.file_zone(path) {
                Some(zone) => zone.lookup(name),
                None => Answer::ServFail,
            },
        }
    }

    fn file_zone(&self, path: &std::path::Path) -> Option<Answerer> {
        use std::os::unix::fs::MetadataExt;
        let meta = std::fs::metadata(path).ok()?;
        let stamp = (meta.modified().ok()?, meta.len(), meta.ino());
        let mut cache = self.parsed.lock().expect("zone cache poisoned");
        if let Some((cached, zone)) = cache.as_ref()
            && *cached == stamp
        {
            return Some(zone.clone());
        }
        let zone = Arc::new(Zone::parse(&std::fs::read_to_string(path).ok()?).ok()?);
        *cache = Some((stamp, zone.clone()));
        Some(zone)
    }
}

#[async_trait::async_trait]
impl RequestHandler for Handler {
    async fn handle_request<R: ResponseHandler, T: Time>(
        &self,
        request: &Request,
        mut response: R,
    ) -> ResponseInfo {
        let mut metadata = Metadata::response_from_request(&request.metadata);
        metadata.authoritative = true;
        let silent = ResponseInfo::from(Header {
            metadata,
            counts: HeaderCounts::default(),
        });
        let Ok(info) = request.request_info() else {
            return silent;
        };
        let name = normalize(&info.query.name().to_string());
        let qtype = info.query.query_type();
        let builder = MessageResponseBuilder::from_message_request(request);
        let answer = self.answer(&name);
        let result = match answer {
            Answer::Drop => return silent,
            Answer::NxDomain => {
                let mut meta = metadata;
                meta.response_code = ResponseCode::NXDomain;
                response.send_response(builder.build_no_records(meta)).await
            }
            Answer::ServFail => {
                response
                    .send_response(builder.error_msg(&request.metadata, ResponseCode::ServFail))
                    .await
            }
            Answer::Addresses(ips) => {
                let owner: Name = info.query.name().into();
                let records: Vec<Record> = ips
                    .iter()
                    .filter_map(|ip| match (ip, qtype) {
                        (IpAddr::V4(v4), RecordType::A) => Some(RData::A(A(*v4))),
                        (IpAddr::V6(v6), RecordType::AAAA) => Some(RData::AAAA(AAAA(*v6))),
                        _ => None,
                    })
                    // TTL 0: nothing downstream should cache test answers.
                    .map(|rdata| Record::from_rdata(owner.clone(), 0, rdata))
                    .collect();
                response
                    .send_response(builder.build(metadata, records.iter(), [], [], []))
                    .await
            }
        };
        result.unwrap_or(silent)
    }
}

type Sockets = (std::net::UdpSocket, std::net::TcpListener);

/// Binds UDP and TCP on `addr`, inside `netns` if given (so that processes in that
/// namespace reach the server at the address their resolv.conf names).
fn bind(addr: SocketAddr, netns: Option<&Netns>) -> Result<Sockets> {
    let bind = move || -> std::io::Result<Sockets> {
        let udp = std::net::UdpSocket::bind(addr)?;
        let tcp = std::net::TcpListener::bind(addr)?;
        udp.set_nonblocking(true)?;
        tcp.set_nonblocking(true)?;
        Ok((udp, tcp))
    };
    let sockets = match netns {
        Some(ns) => ns.in_thread(bind)??,
        None => bind()?,
    };
    Ok(sockets)
}

/// Serves on bound sockets; must run inside a tokio runtime. Dropping the server stops it.
fn serve_sockets(
    udp: std::net::UdpSocket,
    tcp: std::net::TcpListener,
    zone: ZoneSource,
) -> Result<Server<Handler>> {
    let mut server = Server::new(Handler::new(zone));
    server.register_socket(tokio::net::UdpSocket::from_std(udp)?);
    server.register_listener(
        tokio::net::TcpListener::from_std(tcp)?,
        Duration::from_secs(5),
        4096,
    );
    Ok(server)
}

/// Checks that `addr` is a usable listen address.
pub fn parse_listen(text: &str) -> Result<SocketAddr> {
    match text.parse() {
        Ok(addr) => Ok(addr),
        Err(_) => bail!("{text:?} is not an ip:port"),
    }
}

/// A DNS server running on its own thread and runtime until dropped, so blocking test
/// code (and the `rk-testkit dns` command) can use it without being async.
pub struct DnsThread {
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl DnsThread {
    /// Starts serving; returns once the sockets are bound.
    pub fn start(addr: SocketAddr, netns: Option<&Netns>, zone: ZoneSource) -> Result<DnsThread> {
        // Bind here, on the caller's thread, so errors surface at once; serve on the thread.
        let (udp, tcp) = bind(addr, netns)?;
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<Result<()>>();
        let thread = std::thread::Builder::new()
            .name("test-dns".into())
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e.into()));
                        return;
                    }
                };
                runtime.block_on(async move {
                    match serve_sockets(udp, tcp, zone) {
                        Ok(server) => {
                            let _ = ready_tx.send(Ok(()));
                            let _ = stop_rx.await;
                            drop(server);
                        }
                        Err(e) => {
                            let _ = ready_tx.send(Err(e));
                        }
                    }
                });
            })?;
        ready_rx.recv().context("DNS thread died")??;
        Ok(DnsThread {
            stop: Some(stop_tx),
            thread: Some(thread),
        })
    }
}

impl Drop for DnsThread {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zone_text_round_trips() {
        let mut zone = Zone::default();
        zone.set(
            "A.Example.",
            &["10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap()],
        );
        zone.answer("b.example", Answer::ServFail);
        zone.answer("c.example", Answer::Drop);
        zone.otherwise = Some(Answer::NxDomain);
        assert_eq!(Zone::parse(&zone.to_text()).unwrap(), zone);
        assert_eq!(
            zone.lookup("a.example"),
            Answer::Addresses(vec![
                "10.0.0.1".parse().unwrap(),
                "10.0.0.2".parse().unwrap()
            ])
        );
        assert!(Zone::parse("x 10.0.0.300").is_err());
    }
}
