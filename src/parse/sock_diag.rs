//! sock_diag (NETLINK_SOCK_DIAG, inet_diag): the request for the LISTEN TCP sockets of one address
//! family and the decoding of the kernel's answer, with the record of the answers a snapshot keeps.
//!
//! For a LISTEN socket the kernel's answer (`struct inet_diag_msg`) carries `idiag_rqueue` =
//! `sk_ack_backlog`, the connections waiting for accept(), and `idiag_wqueue` = `sk_max_ack_backlog`,
//! the backlog the application passed to listen() capped by net.core.somaxconn
//! (net/ipv4/tcp_diag.c, tcp_diag_get_info): what `ss -lnt` prints as Recv-Q and Send-Q. The backlog
//! is in no file under /proc, which is why osdoctor asks sock_diag and records the answer.
//!
//! The messages are built and decoded with the rust-netlink crates (netlink-packet-sock-diag); this
//! module is pure: bytes in, types out.

use netlink_packet_core::{NLM_F_DUMP, NLM_F_REQUEST, NetlinkHeader, NetlinkMessage, NetlinkPayload};
use netlink_packet_sock_diag::SockDiagMessage;
use netlink_packet_sock_diag::constants::{AF_INET, AF_INET6, IPPROTO_TCP};
use netlink_packet_sock_diag::inet::{ExtensionFlags, InetRequest, SocketId, StateFlags};

/// One LISTEN socket as sock_diag describes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DiagListener {
    pub inode: u64,
    pub port: u16,
    /// Connections waiting for accept() (`idiag_rqueue`).
    pub queue: u32,
    /// The accept-queue limit (`idiag_wqueue`: sk_max_ack_backlog).
    pub backlog: u32,
}

/// The dump request for the LISTEN TCP sockets of `family` (`AF_INET` or `AF_INET6`).
pub fn listen_request(family: u8) -> Vec<u8> {
    let mut header = NetlinkHeader::default();
    header.flags = NLM_F_REQUEST | NLM_F_DUMP;
    let socket_id = if family == AF_INET6 {
        SocketId::new_v6()
    } else {
        SocketId::new_v4()
    };
    let mut packet = NetlinkMessage::new(
        header,
        SockDiagMessage::InetRequest(InetRequest {
            family,
            protocol: IPPROTO_TCP,
            extensions: ExtensionFlags::empty(),
            states: StateFlags::LISTEN,
            socket_id,
        })
        .into(),
    );
    packet.finalize();
    let mut buf = vec![0; packet.buffer_len()];
    packet.serialize(&mut buf);
    buf
}

/// The families a full read asks for, in order.
pub const FAMILIES: [u8; 2] = [AF_INET, AF_INET6];

/// What one datagram of the answer held.
#[derive(Debug, Default, PartialEq)]
pub struct Decoded {
    pub listeners: Vec<DiagListener>,
    /// The dump ended (NLMSG_DONE).
    pub done: bool,
}

/// Decode one datagram of the kernel's answer (several netlink messages back to back). An error
/// message from the kernel (the inet_diag module missing, a refusal) is an `Err` with its errno text.
pub fn decode(mut bytes: &[u8]) -> Result<Decoded, String> {
    let mut out = Decoded::default();
    while !bytes.is_empty() {
        let msg = NetlinkMessage::<SockDiagMessage>::deserialize(bytes).map_err(|e| e.to_string())?;
        let len = msg.header.length as usize;
        match msg.payload {
            // The request asked for LISTEN only; should a kernel ignore the filter, each answer
            // still says its socket's state.
            NetlinkPayload::InnerMessage(SockDiagMessage::InetResponse(r))
                if r.header.state == netlink_packet_sock_diag::constants::TCP_LISTEN =>
            {
                out.listeners.push(DiagListener {
                    inode: u64::from(r.header.inode),
                    port: r.header.socket_id.source_port,
                    queue: r.header.recv_queue,
                    backlog: r.header.send_queue,
                });
            }
            NetlinkPayload::Done(_) => {
                out.done = true;
                return Ok(out);
            }
            NetlinkPayload::Error(e) => {
                if let Some(code) = e.code {
                    return Err(std::io::Error::from_raw_os_error(-code.get()).to_string());
                }
            }
            _ => {}
        }
        // Messages are 4-byte aligned (NLMSG_ALIGN).
        let step = (len + 3) & !3;
        if len == 0 || step > bytes.len() {
            break;
        }
        bytes = &bytes[step..];
    }
    Ok(out)
}

/// The record a snapshot keeps of what sock_diag said: `INODE\tQUEUE\tBACKLOG\tPORT` per listener,
/// or one `error\tREASON` line when the kernel refused.
pub fn format_record(answer: &Result<Vec<DiagListener>, String>) -> String {
    match answer {
        Ok(listeners) => listeners
            .iter()
            .map(|l| format!("{}\t{}\t{}\t{}\n", l.inode, l.queue, l.backlog, l.port))
            .collect(),
        Err(why) => format!("error\t{}\n", why.replace(['\t', '\n'], " ")),
    }
}

/// Read a record back; malformed lines are skipped and counted.
pub fn parse_record(text: &str) -> (Result<Vec<DiagListener>, String>, usize) {
    let mut out = Vec::new();
    let mut bad = 0;
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        if let Some(why) = line.strip_prefix("error\t") {
            return (Err(why.to_string()), bad);
        }
        let f: Vec<&str> = line.split('\t').collect();
        let parsed = (|| {
            Some(DiagListener {
                inode: f.first()?.parse().ok()?,
                queue: f.get(1)?.parse().ok()?,
                backlog: f.get(2)?.parse().ok()?,
                port: f.get(3)?.parse().ok()?,
            })
        })();
        match parsed {
            Some(l) if f.len() == 4 => out.push(l),
            _ => bad += 1,
        }
    }
    (Ok(out), bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_request_asks_tcp_listen_sockets_of_one_family() {
        let req = listen_request(AF_INET);
        // nlmsghdr (16) + inet_diag_req_v2 (56).
        assert_eq!(req.len(), 72);
        assert_eq!(u32::from_ne_bytes(req[0..4].try_into().unwrap()), 72);
        // SOCK_DIAG_BY_FAMILY = 20; NLM_F_REQUEST | NLM_F_DUMP = 0x301.
        assert_eq!(u16::from_ne_bytes(req[4..6].try_into().unwrap()), 20);
        assert_eq!(u16::from_ne_bytes(req[6..8].try_into().unwrap()), 0x301);
        // sdiag_family, sdiag_protocol, idiag_ext, pad, idiag_states = 1 << TCP_LISTEN.
        assert_eq!(&req[16..20], &[AF_INET, IPPROTO_TCP, 0, 0]);
        assert_eq!(u32::from_ne_bytes(req[20..24].try_into().unwrap()), 1 << 10);
        assert_eq!(listen_request(AF_INET6)[16], AF_INET6);
    }

    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// Captured on the project VM (Linux 6.18, x86_64): the answer to `listen_request(AF_INET)` for
    /// a Python listener on 127.0.0.1:5299 with listen(1) that never accepts, after three clients
    /// connected (`ss -lnt`: Recv-Q 2, Send-Q 1; /proc/net/tcp: rx_queue 2, inode 4435610), the
    /// other listeners' messages cut out, then NLMSG_DONE. The message carries its
    /// INET_DIAG_SHUTDOWN, INET_DIAG_CGROUP_ID and INET_DIAG_SOCKOPT attributes.
    const FULL_LISTENER: &str = "7c0000001400020001000000d65d0000020a000014b300007f00000100000000000000000000000000000000000000000000000000000000000000000400000000000000000000000200000001000000000000009aae4300050008000000000008000f00000000000c00150001000000000000000600160052000000140000000300020001000000d65d000000000000";

    #[test]
    #[cfg(target_endian = "little")]
    fn a_full_listener_decoded_from_the_kernels_bytes() {
        let d = decode(&unhex(FULL_LISTENER)).unwrap();
        assert!(d.done);
        assert_eq!(
            d.listeners,
            vec![DiagListener {
                inode: 4435610,
                port: 5299,
                queue: 2,
                backlog: 1,
            }]
        );
        // The first datagram of a longer dump: listeners, no DONE yet.
        let bytes = unhex(FULL_LISTENER);
        let first = decode(&bytes[..0x7c]).unwrap();
        assert!(!first.done);
        assert_eq!(first.listeners.len(), 1);
    }

    #[test]
    fn a_kernel_error_and_garbage_are_errors_not_panics() {
        // NLMSG_ERROR (type 2) with error -EPERM, then the request's header echoed.
        let mut err = Vec::new();
        err.extend_from_slice(&36u32.to_ne_bytes());
        err.extend_from_slice(&2u16.to_ne_bytes());
        err.extend_from_slice(&0u16.to_ne_bytes());
        err.extend_from_slice(&[0; 8]);
        err.extend_from_slice(&(-1i32).to_ne_bytes());
        err.extend_from_slice(&[0; 16]);
        let e = decode(&err).unwrap_err();
        assert!(e.contains("not permitted"), "{e}");
        assert!(decode(&[1, 2, 3]).is_err());
        assert_eq!(decode(&[]), Ok(Decoded::default()));
    }

    #[test]
    fn records_round_trip() {
        let l = vec![DiagListener {
            inode: 90412,
            port: 5202,
            queue: 2,
            backlog: 1,
        }];
        let text = format_record(&Ok(l.clone()));
        assert_eq!(text, "90412\t2\t1\t5202\n");
        assert_eq!(parse_record(&text), (Ok(l), 0));
        let refused = format_record(&Err("Operation not permitted\t(os error 1)".into()));
        assert_eq!(
            parse_record(&refused).0,
            Err("Operation not permitted (os error 1)".to_string())
        );
        assert_eq!(parse_record("1\t2\n90412\t2\t1\t5202\n").1, 1);
        assert_eq!(parse_record("").0, Ok(vec![]));
    }
}
