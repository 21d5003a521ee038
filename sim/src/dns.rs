//! The cluster's DNS: a pod's name (`vault-0`, through the headless `vault-internal` service) resolves to the
//! turmoil host of its current incarnation.
//!
//! Each pod incarnation is a turmoil host of its own, named by its uid, as a real one has an IP of its own. A
//! superseded incarnation whose tasks are still alive (a zombie whose blocked thread holds the file table) stays
//! on the network with its listeners open, and connections already made to it stay open; only new lookups of
//! the pod's name go to the replacement.

use crate::world::World;

/// Where a connection to `name` goes: an incarnation's own host name stays as it is; a pod's name resolves to
/// its current incarnation once that incarnation has a host; any other name is not a cluster name and is used
/// as given. `None` is NXDOMAIN: the pod has no incarnation with an address.
pub fn resolve(world: &World, name: &str) -> Option<String> {
    if world.hosts.contains(name) {
        return Some(name.to_string());
    }
    if !world.scenario.voter_names().iter().any(|pod| pod == name) {
        return Some(name.to_string());
    }
    world
        .pods
        .get(name)
        .map(|pod| pod.uid.clone())
        .filter(|uid| world.hosts.contains(uid))
}

/// The error a connection to a name with no address gets.
pub fn no_such_host(name: &str) -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::NotFound,
        format!("lookup {name}: no such host"),
    )
}
