//! Pushes the deterministic fixture into a running registry, for benchmarks: `registry_fixture URL REPOSITORIES`.
//! Prints one line per tag (`repository:tag`) and, last, a blob path suitable for a HEAD throughput test.

use firedrill_harness::docker::populate;
use firedrill_probes::Endpoint;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let mut args = std::env::args().skip(1);
    let url = args
        .next()
        .expect("usage: registry_fixture URL REPOSITORIES");
    let repositories: usize = args
        .next()
        .map_or(120, |count| count.parse().expect("a repository count"));
    let endpoint = Endpoint::parse(&url).expect("a registry URL");
    let fixture = populate(&endpoint, repositories, 8)
        .await
        .expect("pushing the fixture");
    for repository in &fixture.repositories {
        println!("tag {}:v1", repository.name);
        println!("tag {}:plain", repository.name);
        if repository.manifest_list.is_some() {
            println!("tag {}:multi", repository.name);
        }
    }
    let first = &fixture.repositories[0];
    println!("blob /v2/{}/blobs/{}", first.name, first.plain.config);
}
