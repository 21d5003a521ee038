//! The exact engine: every host is a task on one current-thread tokio runtime with paused time, and turmoil-net
//! carries the packets, so a run costs what happens in it rather than how long it lasts.
//!
//! When every host is idle, tokio's paused clock jumps to the next timer: a host's own sleep, the next packet
//! delivery ([`super::fabric`]) or the next time the driver asked for. Nothing is polled on a tick. Each host's
//! software runs in a `LocalSet` of its own, so what it spawns belongs to it and a crash drops all of it, and
//! every poll of that set makes the host current in turmoil-net (which keeps one kernel per host).
//!
//! turmoil-net fixes its hosts when its `Net` is entered, so the engine adds a pool of host slots up front and
//! gives one to each host that starts (a new pod incarnation); names resolve through the engine's own table.
//! Every slot costs a little at every delivery, so the pool is small and a slot is reused once its host's
//! software has stopped and its kernel holds no socket any more; the stopped host's name then resolves to an
//! address where nothing listens, so a connection to it is refused, as one to a crashed host is on turmoil 0.7.

use super::fabric::Fabric;
use super::{Driver, Hosts, Latency, Software};
use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::future::Future;
use std::io;
use std::net::{IpAddr, Ipv4Addr};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use tokio::task::LocalSet;
use turmoil_net::{HostId, KernelConfig, Net};

thread_local! {
    /// The running exact engine's name table and clock origin; `None` when no exact run is in progress.
    static RUNNING: RefCell<Option<Running>> = const { RefCell::new(None) };
    /// The host whose code is being polled (or whose socket is being used) right now.
    static CURRENT_HOST: Cell<Option<HostId>> = const { Cell::new(None) };
}

struct Running {
    names: BTreeMap<String, IpAddr>,
    started: tokio::time::Instant,
    activity: Rc<Activity>,
}

/// Tells the driver a socket was used, so the kernels may have something to send: a task that is not a host's
/// (a `tokio::spawn`ed connection driver) sends through its socket without any host's poll to report it.
fn mark_socket_use() {
    RUNNING.with(|running| {
        if let Some(running) = running.borrow().as_ref() {
            running.activity.mark_socket_use();
        }
    });
}

/// Tells the driver a socket call was made. One that returned `Pending` only parked a waker: turmoil-net changes
/// nothing else on that path, so the kernels have nothing new to send because of it.
fn mark_socket_call<R>(result: &Poll<R>) {
    RUNNING.with(|running| {
        if let Some(running) = running.borrow().as_ref() {
            if result.is_ready() {
                running.activity.mark_socket_use();
            } else {
                running.activity.mark();
            }
        }
    });
}

/// Simulated milliseconds since the start of the exact run in progress on this thread, if one is.
pub fn now_ms() -> Option<u64> {
    RUNNING.with(|running| {
        running
            .borrow()
            .as_ref()
            .map(|running| running.started.elapsed().as_millis() as u64)
    })
}

/// The host a socket call belongs to: `None` when no exact run is in progress (the reference engine's sockets
/// are used instead). A socket call outside every host on the exact engine is a bug in the world, and panics.
pub fn current_host() -> Option<HostId> {
    let running = RUNNING.with(|running| running.borrow().is_some());
    if !running {
        return None;
    }
    let host = CURRENT_HOST.with(Cell::get);
    Some(host.expect("a socket was opened outside every simulated host"))
}

/// The address of a host's name (or an IP literal such as `0.0.0.0`), as the cluster's resolver answers.
pub fn resolve(name: &str) -> io::Result<IpAddr> {
    if let Ok(ip) = name.parse::<IpAddr>() {
        return Ok(ip);
    }
    RUNNING
        .with(|running| {
            running
                .borrow()
                .as_ref()
                .and_then(|running| running.names.get(name).copied())
        })
        .ok_or_else(|| crate::dns::no_such_host(name))
}

/// Makes `host` current until the guard drops, then restores the host that was.
pub fn on_host(host: HostId) -> HostGuard {
    let previous = CURRENT_HOST.with(|current| current.replace(Some(host)));
    turmoil_net::set_current(host);
    HostGuard { previous }
}

pub struct HostGuard {
    previous: Option<HostId>,
}

impl Drop for HostGuard {
    fn drop(&mut self) {
        CURRENT_HOST.with(|current| current.set(self.previous));
        if let Some(previous) = self.previous {
            turmoil_net::set_current(previous);
        }
    }
}

/// A socket that belongs to one host: every call, and its drop, runs with that host current.
pub struct Owned<T> {
    host: HostId,
    inner: Option<T>,
}

impl<T> Owned<T> {
    pub fn new(host: HostId, inner: T) -> Owned<T> {
        Owned {
            host,
            inner: Some(inner),
        }
    }

    pub fn host(&self) -> HostId {
        self.host
    }

    /// Makes a socket call (a `poll_*` method) with the socket's host current.
    pub fn poll_with<R>(&self, call: impl FnOnce(&T) -> Poll<R>) -> Poll<R> {
        let _on = on_host(self.host);
        let result = call(
            self.inner
                .as_ref()
                .expect("a socket is used only while it lives"),
        );
        mark_socket_call(&result);
        result
    }

    /// Makes a socket call (a `poll_*` method) that needs the socket mutably, with its host current.
    pub fn poll_with_mut<R>(&mut self, call: impl FnOnce(&mut T) -> Poll<R>) -> Poll<R> {
        let _on = on_host(self.host);
        let result = call(
            self.inner
                .as_mut()
                .expect("a socket is used only while it lives"),
        );
        mark_socket_call(&result);
        result
    }
}

impl<T> Drop for Owned<T> {
    fn drop(&mut self) {
        if let Some(inner) = self.inner.take() {
            let _on = on_host(self.host);
            mark_socket_use();
            drop(inner);
        }
    }
}

/// A future polled (and dropped) with its host current.
pub struct OnHost<F> {
    host: HostId,
    inner: Option<Pin<Box<F>>>,
}

impl<F: Future> OnHost<F> {
    pub fn new(host: HostId, inner: F) -> OnHost<F> {
        OnHost {
            host,
            inner: Some(Box::pin(inner)),
        }
    }
}

impl<F: Future> Future for OnHost<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let _on = on_host(self.host);
        mark_socket_use();
        self.inner
            .as_mut()
            .expect("polled after completion")
            .as_mut()
            .poll(cx)
    }
}

impl<F> Drop for OnHost<F> {
    fn drop(&mut self) {
        if let Some(inner) = self.inner.take() {
            let _on = on_host(self.host);
            // A connect abandoned half way closes its socket, which the kernel may answer for.
            mark_socket_use();
            drop(inner);
        }
    }
}

/// Whether any host ran since the driver last looked, whether any socket was used since the wire last took the
/// kernels' output, and the driver's waker.
#[derive(Default)]
struct Activity {
    ran: Cell<bool>,
    /// turmoil-net's kernels are clock-free: only a socket call or a delivered packet gives one something new to
    /// send, so a host poll that used no socket needs no pass over every kernel (a third of them, counted on
    /// `vault-stuck-leader`, benches/README.md).
    sockets_used: Cell<bool>,
    /// Host polls so far, so the driver can tell when the hosts ready at an instant have all run.
    polls: Cell<u64>,
    driver: RefCell<Option<Waker>>,
}

impl Activity {
    fn mark(&self) {
        self.ran.set(true);
        self.polls.set(self.polls.get() + 1);
        if let Some(waker) = self.driver.borrow_mut().take() {
            waker.wake();
        }
    }

    fn mark_socket_use(&self) {
        self.sockets_used.set(true);
        self.mark();
    }
}

/// One host's software, run in its own `LocalSet`: polled with the host current, and marking activity after
/// every poll so the driver sees what it did at the same instant (its sockets report their own use, so the wire
/// takes what they sent).
struct HostTask {
    host: HostId,
    set: Rc<RefCell<Option<LocalSet>>>,
    activity: Rc<Activity>,
}

impl Future for HostTask {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let _on = on_host(self.host);
        let mut slot = self.set.borrow_mut();
        let Some(set) = slot.as_mut() else {
            return Poll::Ready(());
        };
        let polled = Pin::new(set).poll(cx);
        self.activity.mark();
        if polled.is_ready() {
            *slot = None;
        }
        polled
    }
}

struct Slot {
    host: HostId,
    ip: IpAddr,
}

struct Host {
    slot: Option<Slot>,
    software: Software,
    set: Rc<RefCell<Option<LocalSet>>>,
}

/// The hosts of an exact run: their slots on the network and their running software.
struct HostTable {
    free: std::collections::VecDeque<Slot>,
    /// Where the names of stopped hosts whose slot went to another host point: nothing listens there.
    graveyard_ip: IpAddr,
    hosts: BTreeMap<String, Host>,
    activity: Rc<Activity>,
    /// Pairs of addresses whose packets arrive at once, shared with the wire.
    instant_links: Rc<RefCell<std::collections::BTreeSet<(IpAddr, IpAddr)>>>,
}

fn set_address(name: &str, ip: IpAddr) {
    RUNNING.with(|running| {
        running
            .borrow_mut()
            .as_mut()
            .expect("an exact run is in progress")
            .names
            .insert(name.to_string(), ip)
    });
}

impl HostTable {
    /// A free slot, or the slot of a stopped host whose kernel has closed every socket.
    fn take_slot(&mut self, for_name: &str) -> Slot {
        if let Some(slot) = self.free.pop_front() {
            return slot;
        }
        let reclaimable = self.hosts.iter().find_map(|(name, host)| {
            let slot = host.slot.as_ref()?;
            let stopped = host.set.borrow().is_none();
            (stopped && turmoil_net::netstat(slot.ip).entries.is_empty()).then(|| name.clone())
        });
        let Some(name) = reclaimable else {
            panic!(
                "the simulated network has no free host slot for {for_name}: every slot's host runs or still \
                 holds a connection"
            )
        };
        set_address(&name, self.graveyard_ip);
        self.hosts
            .get_mut(&name)
            .and_then(|host| host.slot.take())
            .expect("a reclaimable host has a slot")
    }

    fn start(&mut self, name: &str) {
        if self.hosts.get(name).is_some_and(|host| host.slot.is_none()) {
            let slot = self.take_slot(name);
            set_address(name, slot.ip);
            self.hosts.get_mut(name).expect("a registered host").slot = Some(slot);
        }
        let host = self.hosts.get_mut(name).expect("a registered host");
        let id = host.slot.as_ref().expect("a started host has a slot").host;
        let set = LocalSet::new();
        let software = host.software.clone();
        set.spawn_local(async move {
            // Host software that fails ends, as a process that exits with an error does; the world records
            // what that means for the pod.
            let _ = software().await;
        });
        // A fresh slot for each start: the task that polled the previous software finds its own slot empty.
        host.set = Rc::new(RefCell::new(Some(set)));
        tokio::task::spawn_local(HostTask {
            host: id,
            set: host.set.clone(),
            activity: self.activity.clone(),
        });
        self.activity.mark_socket_use();
    }

    fn stop(&mut self, name: &str) {
        let host = self.hosts.get(name).expect("a registered host");
        let Some(slot) = host.slot.as_ref() else {
            return;
        };
        let _on = on_host(slot.host);
        let set = host.set.borrow_mut().take();
        // Dropping the set drops every task of the host's software, and with them its sockets, which close as
        // a killed process's do.
        drop(set);
        self.activity.mark_socket_use();
    }

    fn stop_all(&mut self) {
        let names: Vec<String> = self.hosts.keys().cloned().collect();
        for name in names {
            self.stop(&name);
        }
    }
}

impl Hosts for HostTable {
    fn register(&mut self, name: &str, software: Software) {
        assert!(
            !self.hosts.contains_key(name),
            "the host {name} is registered twice"
        );
        self.hosts.insert(
            name.to_string(),
            Host {
                slot: None,
                software,
                set: Rc::new(RefCell::new(None)),
            },
        );
        self.start(name);
    }

    fn crash(&mut self, name: &str) {
        self.stop(name);
    }

    fn bounce(&mut self, name: &str) {
        self.stop(name);
        self.start(name);
    }

    fn link_without_latency(&mut self, a: &str, b: &str) {
        let address = |name: &str| {
            resolve(name).unwrap_or_else(|_| panic!("{name} is linked before it is registered"))
        };
        let (a, b) = (address(a), address(b));
        let mut links = self.instant_links.borrow_mut();
        links.insert((a, b));
        links.insert((b, a));
    }
}

/// What an exact run measured about itself, outside the trace.
#[derive(Clone, Copy, Debug, Default)]
pub struct ExactStats {
    pub packets_delivered: u64,
    pub driver_steps: u64,
}

/// The address of pool slot `index`: 10.x.y.z, never loopback.
fn slot_ip(index: usize) -> IpAddr {
    let index = index as u32 + 1;
    IpAddr::V4(Ipv4Addr::new(
        10,
        (index >> 16) as u8,
        (index >> 8) as u8,
        index as u8,
    ))
}

/// Runs the simulation for `duration_ms` with `pool_size` host slots: `setup` adds the first hosts, then the
/// driver runs whenever a host ran and at the times it asks for.
pub fn run(
    seed: u64,
    latency: Latency,
    duration_ms: u64,
    pool_size: usize,
    setup: impl FnOnce(&mut dyn Hosts),
    mut driver: impl Driver,
) -> ExactStats {
    // The network is lossless, so turmoil-net's count-based retransmission (which counts the harness's calls,
    // not time) is switched off; a SYN that meets a full accept queue waits for the connecting side's timeout.
    let config = KernelConfig::default()
        .default_backlog(super::reference::TCP_CAPACITY)
        .retx_threshold(u32::MAX)
        .retx_max(u32::MAX);
    let mut net = Net::with_config(config);
    let graveyard_ip = slot_ip(pool_size);
    net.add_host(graveyard_ip);
    let free = (0..pool_size)
        .map(|index| {
            let ip = slot_ip(index);
            Slot {
                host: net.add_host(ip),
                ip,
            }
        })
        .collect();
    let guard = net.enter();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("a current-thread runtime");
    let activity = Rc::new(Activity::default());
    let instant_links = Rc::new(RefCell::new(std::collections::BTreeSet::new()));
    let table = Rc::new(RefCell::new(HostTable {
        free,
        graveyard_ip,
        instant_links: instant_links.clone(),
        hosts: BTreeMap::new(),
        activity: activity.clone(),
    }));
    let mut fabric = Fabric::new(seed, latency, instant_links);
    let mut stats = ExactStats::default();
    let outer = LocalSet::new();
    outer.block_on(&runtime, async {
        let started = tokio::time::Instant::now();
        RUNNING.with(|running| {
            *running.borrow_mut() = Some(Running {
                names: BTreeMap::new(),
                started,
                activity: activity.clone(),
            })
        });
        setup(&mut *table.borrow_mut());
        let mut next_wake_ms = 0;
        let mut sleep = Box::pin(tokio::time::sleep_until(started));
        loop {
            let now_ms = now_ms().expect("the run is in progress");
            if now_ms >= next_wake_ms {
                // The driver's own appointment (a kubelet sync, a scheduled fault) falls at an instant where host
                // timers may fire too: as on the reference, where the driver runs after the step, every host
                // ready at this instant runs first, so both engines order same-instant work alike.
                loop {
                    let polls_before = activity.polls.get();
                    tokio::task::yield_now().await;
                    if activity.polls.get() == polls_before {
                        break;
                    }
                }
            }
            let hosts_ran = activity.ran.replace(false);
            fabric.pump(&guard, now_ms, activity.sockets_used.replace(false));
            if hosts_ran || now_ms >= next_wake_ms {
                let polls_before = activity.polls.get();
                next_wake_ms = driver.on_step(&mut *table.borrow_mut(), now_ms);
                stats.driver_steps += 1;
                if activity.polls.get() != polls_before {
                    // The driver started or stopped hosts: a stopped host's sockets have just closed.
                    fabric.pump(&guard, now_ms, true);
                }
                activity.ran.set(false);
                activity.sockets_used.set(false);
            }
            if now_ms >= duration_ms {
                break;
            }
            let wake_ms = fabric
                .next_delivery_ms()
                .unwrap_or(u64::MAX)
                .min(next_wake_ms.max(now_ms + 1))
                .min(duration_ms);
            sleep
                .as_mut()
                .reset(started + std::time::Duration::from_millis(wake_ms));
            WaitForActivity {
                activity: &activity,
                sleep: sleep.as_mut(),
            }
            .await;
        }
        table.borrow_mut().stop_all();
        stats.packets_delivered = fabric.packets_delivered;
    });
    drop(outer);
    drop(runtime);
    RUNNING.with(|running| *running.borrow_mut() = None);
    drop(table);
    drop(guard);
    stats
}

/// Resolves when a host ran or when the sleep ends, whichever comes first.
struct WaitForActivity<'a> {
    activity: &'a Activity,
    sleep: Pin<&'a mut tokio::time::Sleep>,
}

impl Future for WaitForActivity<'_> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.activity.ran.get() {
            return Poll::Ready(());
        }
        *self.activity.driver.borrow_mut() = Some(cx.waker().clone());
        self.sleep.as_mut().poll(cx)
    }
}
