//! Victim inference (design.md, "Victim identification"): the victim is the endpoint that
//! talks to the indicator; when both endpoints match, the `home_net` side is the victim.

use super::flow::Side;
use super::homenet::HomeNet;
use crate::alert::record::MatchedOn;
use crate::intel::IndicatorSet;
use crate::intel::set::IndicatorId;
use std::net::IpAddr;

/// The decision for one flow.
#[derive(Debug, Clone)]
pub struct Verdict {
    pub c2_side: Side,
    pub indicator: IndicatorId,
    pub matched_on: MatchedOn,
}

/// Ports only count for TCP and UDP (and SCTP) indicators.
pub fn port_for_match(proto: u8, port: Option<u16>) -> Option<u16> {
    match proto {
        6 | 17 | 132 => port,
        _ => None,
    }
}

/// Matches both endpoints of a flow. `init` sent the first packet.
pub fn infer(
    set: &IndicatorSet,
    home: &HomeNet,
    proto: u8,
    init: (IpAddr, Option<u16>),
    resp: (IpAddr, Option<u16>),
) -> Option<Verdict> {
    let m_resp = set.match_id(resp.0, port_for_match(proto, resp.1));
    let m_init = set.match_id(init.0, port_for_match(proto, init.1));
    let responder_is_c2 = |ind: IndicatorId| Verdict {
        c2_side: Side::Responder,
        indicator: ind,
        matched_on: MatchedOn::DestIp,
    };
    let initiator_is_c2 = |ind: IndicatorId| Verdict {
        c2_side: Side::Initiator,
        indicator: ind,
        matched_on: MatchedOn::SrcIp,
    };
    match (m_init, m_resp) {
        (None, None) => None,
        (None, Some(r)) => Some(responder_is_c2(r)),
        (Some(i), None) => Some(initiator_is_c2(i)),
        (Some(i), Some(r)) => {
            // Both listed: the home-net side is the victim; otherwise the initiator is.
            if home.contains(resp.0) && !home.contains(init.0) {
                Some(initiator_is_c2(i))
            } else {
                Some(responder_is_c2(r))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::intel::set::{IndicatorSetBuilder, Key};
    use crate::intel::{IndicatorSet, Meta};

    fn set(listed: &[&str]) -> IndicatorSet {
        let mut b = IndicatorSetBuilder::new();
        for l in listed {
            b.add(
                Key::ip(l.parse().unwrap()),
                l,
                std::sync::Arc::new(Meta::default()),
            );
        }
        b.build(1)
    }

    fn ep(s: &str, p: u16) -> (IpAddr, Option<u16>) {
        (s.parse().unwrap(), Some(p))
    }

    #[test]
    fn outbound_inbound_and_both() {
        let home = HomeNet::default_nets();
        let s = set(&["203.0.113.10", "10.9.9.9"]);
        let v = infer(&s, &home, 6, ep("10.0.0.5", 50000), ep("203.0.113.10", 443)).unwrap();
        assert_eq!(
            (v.c2_side, v.matched_on),
            (Side::Responder, MatchedOn::DestIp)
        );
        let v = infer(&s, &home, 6, ep("203.0.113.10", 4444), ep("10.0.0.5", 22)).unwrap();
        assert_eq!(
            (v.c2_side, v.matched_on),
            (Side::Initiator, MatchedOn::SrcIp)
        );
        // Both listed: home side (responder 10.9.9.9) is the victim.
        let v = infer(&s, &home, 6, ep("203.0.113.10", 4444), ep("10.9.9.9", 22)).unwrap();
        assert_eq!(v.c2_side, Side::Initiator);
        assert!(infer(&s, &home, 6, ep("10.0.0.5", 1), ep("192.0.2.1", 2)).is_none());
    }
}
