//! The exact engine's wire: takes what every host's kernel sends, holds each packet for its drawn latency, and
//! delivers it at that instant.
//!
//! turmoil-net's kernels are clock-free; this is the harness side its design leaves to the caller. Latency is
//! drawn per packet from the seed, in whole milliseconds (tokio's timer resolution), and a packet never
//! overtakes an earlier one between the same two addresses: turmoil-net's TCP drops out-of-order segments and
//! relies on retransmission, which this lossless wire switches off.

use super::Latency;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::rc::Rc;
use turmoil_net::{EnterGuard, Packet};

/// How many rounds of immediate delivery one instant may take before the wire is declared livelocked: a
/// zero-latency ping-pong between two kernels that never lets time pass is a bug in the model, not a run.
const ROUNDS_PER_INSTANT_MAX: usize = 100_000;

pub(super) struct Fabric {
    latency: Latency,
    /// Address pairs whose packets arrive at once ([`super::Hosts::link_without_latency`]).
    instant_links: Rc<RefCell<BTreeSet<(IpAddr, IpAddr)>>>,
    rng: ChaCha8Rng,
    /// Packets in flight, by (delivery time in ms, sequence number): a deterministic order for equal times.
    in_flight: BTreeMap<(u64, u64), Packet>,
    next_sequence: u64,
    /// The latest delivery time scheduled between two addresses, so packets of a flow stay in order.
    last_delivery_ms: BTreeMap<(IpAddr, IpAddr), u64>,
    egress: Vec<Packet>,
    /// Packets carried so far, for the throughput figures.
    pub packets_delivered: u64,
}

impl Fabric {
    pub(super) fn new(
        seed: u64,
        latency: Latency,
        instant_links: Rc<RefCell<BTreeSet<(IpAddr, IpAddr)>>>,
    ) -> Fabric {
        Fabric {
            latency,
            instant_links,
            rng: ChaCha8Rng::seed_from_u64(seed),
            in_flight: BTreeMap::new(),
            next_sequence: 0,
            last_delivery_ms: BTreeMap::new(),
            egress: Vec::with_capacity(64),
            packets_delivered: 0,
        }
    }

    /// When the next packet in flight arrives, if one is in flight.
    pub(super) fn next_delivery_ms(&self) -> Option<u64> {
        self.in_flight.keys().next().map(|(at_ms, _)| *at_ms)
    }

    /// Delivers what is due at `now_ms` and takes every kernel's output, until nothing more is due now.
    /// `sockets_used` says whether any socket was used (and so may have sent) since the last pump; if not, and
    /// nothing is due, the kernels have nothing new to send and are not asked.
    pub(super) fn pump(&mut self, guard: &EnterGuard, now_ms: u64, sockets_used: bool) {
        let mut must_egress = sockets_used;
        for _ in 0..ROUNDS_PER_INSTANT_MAX {
            while let Some(entry) = self.in_flight.first_entry() {
                if entry.key().0 > now_ms {
                    break;
                }
                guard.deliver(entry.remove());
                self.packets_delivered += 1;
                // A delivery can make a kernel answer by itself (an ACK, a SYN-ACK, a RST).
                must_egress = true;
            }
            if !must_egress {
                return;
            }
            must_egress = false;
            let mut egress = std::mem::take(&mut self.egress);
            guard.egress_all(&mut egress);
            for packet in egress.drain(..) {
                self.schedule(packet, now_ms);
            }
            self.egress = egress;
            if self.next_delivery_ms().is_none_or(|at_ms| at_ms > now_ms) {
                return;
            }
        }
        panic!("the simulated network livelocked: packets kept flowing at {now_ms} ms without time passing");
    }

    fn schedule(&mut self, packet: Packet, now_ms: u64) {
        let latency_ms = if self
            .instant_links
            .borrow()
            .contains(&(packet.src, packet.dst))
        {
            0
        } else if self.latency.min_ms >= self.latency.max_ms {
            self.latency.min_ms
        } else {
            self.rng
                .random_range(self.latency.min_ms..=self.latency.max_ms)
        };
        let flow = (packet.src, packet.dst);
        let earliest_ms = self.last_delivery_ms.get(&flow).copied().unwrap_or(0);
        let at_ms = (now_ms + latency_ms).max(earliest_ms);
        self.last_delivery_ms.insert(flow, at_ms);
        let sequence = self.next_sequence;
        self.next_sequence += 1;
        self.in_flight.insert((at_ms, sequence), packet);
    }
}
