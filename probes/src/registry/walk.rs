//! The integrity walk: catalog → tags → manifest or index → children → config → layers, level by level.
//!
//! Each level's requests run with bounded concurrency; results are then processed in input order, so the report
//! is the same on every run. Every (repository, digest) is requested at most once per walk.

use super::auth::{AuthError, Credentials};
use super::bounded::run_bounded;
use super::client::{RegistryClient, RequestError};
use super::digest_key::DigestKey;
use super::document::{Descriptor, Document};
use super::media_type::{is_index, MANIFEST_ACCEPT};
use super::names::{is_valid_digest, is_valid_repository, is_valid_tag};
use super::pagination::{next_page, FALLBACK_PAGE_SIZE_ENTRIES, PAGE_LIMIT, PAGE_SIZE_ENTRIES};
use super::report::{Broken, Kind, Report};
use crate::endpoint::Endpoint;
use crate::http::Response;
use crate::transport::Connect;
use http::Method;
use serde::Deserialize;
use sha2::{Digest as _, Sha256};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

/// Which references the walk starts from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Every tag of every repository in the catalog.
    Everything,
    /// One reference (a tag or a digest) of one repository: the post-push verify step.
    Image {
        repository: String,
        reference: String,
    },
}

/// How the walk behaves. [`WalkConfig::default`] is what the CLI uses without flags.
#[derive(Clone, Debug)]
pub struct WalkConfig {
    pub scope: Scope,
    /// Requests in flight at once, and so the most connections ever open.
    pub concurrency: usize,
    /// The deadline for connecting, and separately for each request's complete response.
    pub request_timeout: Duration,
    /// The largest manifest accepted. Distribution itself refuses manifests over 4 MiB.
    pub manifest_limit_bytes: usize,
    /// The largest catalog or tag-list page accepted.
    pub listing_limit_bytes: usize,
    /// The most repositories, or tags of one repository, a listing may return in total.
    pub listing_limit_entries: usize,
    /// How deep indexes may nest below a tag before the walk refuses to descend.
    pub index_depth_limit: usize,
    /// Check that each manifest's bytes hash to the digest it was requested by.
    pub verify_digests: bool,
    pub credentials: Credentials,
    /// What the walk as a whole may hold: response bodies in flight and buffered, and the objects it tracks
    /// (queued and seen). A quarter goes to bodies, which caps how many manifests are fetched at once; the rest
    /// caps how many objects are tracked, beyond which the walk reports that it stopped short.
    pub memory_limit_bytes: usize,
    /// The whole walk's deadline, listings included, however the registry paces its answers.
    pub deadline: Duration,
}

/// The accounting unit for one tracked object: a pending root, an entry in a seen set, or a queued manifest or blob
/// (a queued object counts twice, seen and queued). Measured: a tracked object costs 76–82 bytes of heap, glibc's
/// chunk overhead included (`a_tracked_object_costs_no_more_heap_than_the_accounting_unit` in
/// probes/tests/registry_bounds.rs, which fails if it ever costs more than this unit); the rest is headroom for the
/// seen sets' node slack and a queue's doubling growth, which the heap count does not see (benches/README.md
/// has the peak RSS figures).
pub const BYTES_PER_OBJECT: usize = 128;
/// A HEAD answer has no body, so blob requests are issued in larger chunks than manifest requests.
const BLOB_CHUNK_PER_SLOT: usize = 64;

impl Default for WalkConfig {
    fn default() -> Self {
        Self {
            scope: Scope::Everything,
            concurrency: 32,
            request_timeout: Duration::from_secs(10),
            manifest_limit_bytes: 4 * 1024 * 1024,
            listing_limit_bytes: 4 * 1024 * 1024,
            listing_limit_entries: 1_000_000,
            index_depth_limit: 8,
            verify_digests: true,
            credentials: Credentials::Anonymous,
            // 192 MiB: 48 MiB of bodies (twelve 4 MiB manifests at once) and 1,179,648 objects, so a 100,000-tag
            // registry of two-platform images (seven objects a tag) fits (benches/README.md).
            memory_limit_bytes: 192 * 1024 * 1024,
            deadline: Duration::from_secs(3600),
        }
    }
}

impl WalkConfig {
    /// How many manifest requests run at once: the concurrency, unless the body budget allows fewer.
    fn manifest_slots(&self) -> usize {
        let by_memory = (self.memory_limit_bytes / 4) / self.manifest_limit_bytes.max(1);
        self.concurrency.min(by_memory).max(1)
    }

    /// How many objects the walk may track.
    fn object_limit(&self) -> usize {
        (self.memory_limit_bytes / 4 * 3 / BYTES_PER_OBJECT).max(1)
    }
}

/// Why the walk could not start or could not list what it had to check. Broken objects are not errors; they are
/// the report.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    #[error("invalid credentials: {0}")]
    Credentials(#[from] AuthError),
    #[error("registry {registry} is unreachable: {reason}")]
    Unreachable { registry: String, reason: String },
    #[error("registry {registry} refused the credentials (HTTP {status} on /v2/)")]
    Unauthorized { registry: String, status: u16 },
    #[error("registry {registry} requires credentials (HTTP {status} on /v2/); set FIREDRILL_REGISTRY_USERNAME and FIREDRILL_REGISTRY_PASSWORD, FIREDRILL_REGISTRY_TOKEN, or --auth-file")]
    CredentialsRequired { registry: String, status: u16 },
    #[error("{registry} does not answer as a registry (HTTP {status} on /v2/)")]
    NotARegistry { registry: String, status: u16 },
    #[error("the catalog of {registry} is not accessible: {reason}")]
    Catalog { registry: String, reason: String },
    #[error("invalid concurrency 0: at least one request must be allowed in flight")]
    ZeroConcurrency,
    #[error("the walk of {registry} did not finish within its {deadline_ms} ms deadline")]
    Deadline { registry: String, deadline_ms: u64 },
}

/// Bodies of `/v2/` and of error answers are read only to be discarded; they are small.
const SMALL_BODY_LIMIT_BYTES: usize = 64 * 1024;

/// Walks the registry at `endpoint` and reports every unreachable object.
pub async fn probe_registry<C: Connect>(
    connector: &C,
    endpoint: &Endpoint,
    config: &WalkConfig,
) -> Result<Report, ProbeError> {
    if config.concurrency == 0 {
        return Err(ProbeError::ZeroConcurrency);
    }
    tokio::time::timeout(config.deadline, walk(connector, endpoint, config))
        .await
        .unwrap_or_else(|_| {
            Err(ProbeError::Deadline {
                registry: endpoint.to_string(),
                deadline_ms: config.deadline.as_millis() as u64,
            })
        })
}

async fn walk<C: Connect>(
    connector: &C,
    endpoint: &Endpoint,
    config: &WalkConfig,
) -> Result<Report, ProbeError> {
    let started = tokio::time::Instant::now();
    let client = RegistryClient::new(
        connector,
        endpoint.clone(),
        &config.credentials,
        config.request_timeout,
    )?;
    let mut walk = Walk {
        client: &client,
        config,
        registry: endpoint.to_string(),
        report: Report {
            registry: endpoint.to_string(),
            ..Report::default()
        },
        repositories: Vec::new(),
        seen_manifests: BTreeSet::new(),
        seen_blobs: BTreeSet::new(),
        manifest_stack: Vec::new(),
        blob_queue: Vec::new(),
        pending_roots: 0,
        object_limit: config.object_limit(),
        skipped: 0,
    };
    walk.check_api_version().await?;
    let roots = match &config.scope {
        Scope::Everything => {
            let repositories = walk.list_catalog().await?;
            walk.report.catalog_accessible = true;
            walk.report.repositories = repositories.len() as u64;
            let roots = walk.list_tags(&repositories).await;
            walk.repositories = repositories;
            roots
        }
        Scope::Image {
            repository,
            reference,
        } => {
            walk.report.catalog_accessible = true;
            walk.report.repositories = 1;
            walk.repositories = vec![repository.clone()];
            vec![(0, reference.as_str().into())]
        }
    };
    walk.report.tags = roots.len() as u64;
    walk.check_roots(roots).await;
    walk.check_blobs().await;
    if walk.skipped > 0 {
        walk.report.broken.push(Broken {
            repository: String::new(),
            reference: String::new(),
            kind: Kind::Repository,
            status: None,
            parent: None,
            detail: format!(
                "the walk's memory bound ({} bytes, {} objects) was reached: {} more objects were not walked",
                config.memory_limit_bytes, walk.object_limit, walk.skipped
            ),
        });
    }
    let mut report = walk.report;
    // Server-supplied text may echo the Authorization header; nothing of it leaves the walk unredacted.
    crate::redact::Redactor::new(&config.credentials).report(&mut report);
    report.requests = client.requests();
    report.duration_ms = started.elapsed().as_millis() as u64;
    report.broken.sort();
    Ok(report)
}

/// Which repository of the walk's sorted list an object belongs to: an index instead of a copy of its name.
type RepositoryId = u32;

/// A tag (or, for `--image NAME@DIGEST`, a digest) whose manifest the walk starts from.
type Root = (RepositoryId, Box<str>);

/// A manifest to fetch by digest, with how the walk got there.
struct ManifestItem {
    repository: RepositoryId,
    digest: DigestKey,
    /// What the parent's descriptor says it is; used to name it when it cannot be fetched.
    kind: Kind,
    parent: DigestKey,
    /// Digests from the tag's manifest down to the parent, for cycle detection and the depth limit; shared by the
    /// parent's children.
    ancestors: Arc<[DigestKey]>,
}

/// A config or layer to HEAD.
struct BlobItem {
    repository: RepositoryId,
    digest: DigestKey,
    kind: Kind,
    parent: DigestKey,
}

struct Walk<'a, C: Connect> {
    client: &'a RegistryClient<'a, C>,
    config: &'a WalkConfig,
    registry: String,
    report: Report,
    /// The catalog's repositories, sorted; objects refer to them by position.
    repositories: Vec<String>,
    seen_manifests: BTreeSet<(RepositoryId, DigestKey)>,
    seen_blobs: BTreeSet<(RepositoryId, DigestKey)>,
    /// Index children still to fetch, deepest last: taken from the end, so the walk finishes one tag's tree before
    /// the next tag's and what a tag queued is forgotten once judged.
    manifest_stack: Vec<ManifestItem>,
    blob_queue: Vec<BlobItem>,
    /// Roots listed but not yet fetched.
    pending_roots: usize,
    /// Objects tracked at most (roots pending, objects seen, and objects queued), from the memory bound.
    object_limit: usize,
    /// Objects not tracked because the limit was reached.
    skipped: u64,
}

#[derive(Deserialize)]
struct CatalogPage {
    repositories: Option<Vec<String>>,
}

#[derive(Deserialize)]
struct TagsPage {
    tags: Option<Vec<String>>,
}

impl<C: Connect> Walk<'_, C> {
    async fn check_api_version(&self) -> Result<(), ProbeError> {
        let response = self
            .client
            .request(
                Method::GET,
                "/v2/".to_string(),
                None,
                SMALL_BODY_LIMIT_BYTES,
            )
            .await
            .map_err(|error| ProbeError::Unreachable {
                registry: self.registry.clone(),
                reason: error.to_string(),
            })?;
        match response.status {
            200 => Ok(()),
            // An anonymous probe sent no credentials, so none were refused.
            401 | 403 if self.config.credentials == Credentials::Anonymous => {
                Err(ProbeError::CredentialsRequired {
                    registry: self.registry.clone(),
                    status: response.status,
                })
            }
            401 | 403 => Err(ProbeError::Unauthorized {
                registry: self.registry.clone(),
                status: response.status,
            }),
            status => Err(ProbeError::NotARegistry {
                registry: self.registry.clone(),
                status,
            }),
        }
    }

    /// Every repository in the catalog, sorted; names outside the grammar are reported and skipped.
    async fn list_catalog(&mut self) -> Result<Vec<String>, ProbeError> {
        let names = self
            .list_pages("/v2/_catalog", |body| {
                serde_json::from_slice::<CatalogPage>(body)
                    .map(|page| page.repositories.unwrap_or_default())
            })
            .await
            .map_err(|error| ProbeError::Catalog {
                registry: self.registry.clone(),
                reason: match error {
                    ListingError::NotFound => {
                        "HTTP 404: the catalog API is disabled or hidden".into()
                    }
                    ListingError::Failed {
                        status: Some(status),
                        detail,
                    } => format!("{detail} (status {status})"),
                    ListingError::Failed {
                        status: None,
                        detail,
                    } => detail,
                },
            })?;
        let mut repositories = BTreeSet::new();
        for name in names {
            if is_valid_repository(&name) {
                repositories.insert(name);
            } else {
                self.report.broken.push(Broken {
                    // Redacted before it is cut, so a cut cannot leave part of a secret behind.
                    repository: crate::redact::Redactor::new(&self.config.credentials)
                        .text(&name)
                        .chars()
                        .take(300)
                        .collect(),
                    reference: String::new(),
                    kind: Kind::Repository,
                    status: Some(200),
                    parent: None,
                    detail: "the catalog lists an invalid repository name; not walked".into(),
                });
            }
        }
        Ok(repositories.into_iter().collect())
    }

    /// Every (repository, tag), in order. A repository with no tags (404) is legitimate and contributes none.
    async fn list_tags(&mut self, repositories: &[String]) -> Vec<Root> {
        let mut roots = Vec::new();
        // A chunk of listings at a time, each up to the entry limit: all of them at once is unbounded.
        let chunk_size = self.config.concurrency.max(1);
        for (chunk_index, chunk) in repositories.chunks(chunk_size).enumerate() {
            self.list_tag_chunk(chunk, chunk_index * chunk_size, &mut roots)
                .await;
        }
        roots
    }

    /// Lists the tags of `repositories`, the first of which is the walk's repository number `first_id`.
    async fn list_tag_chunk(
        &mut self,
        repositories: &[String],
        first_id: usize,
        roots: &mut Vec<Root>,
    ) {
        let this = &*self;
        let listings = run_bounded(
            repositories.iter().map(|repository| {
                let path = format!("/v2/{repository}/tags/list");
                async move {
                    this.list_pages(&path, |body| {
                        serde_json::from_slice::<TagsPage>(body)
                            .map(|page| page.tags.unwrap_or_default())
                    })
                    .await
                }
            }),
            this.config.concurrency,
        )
        .await;
        for ((offset, repository), listing) in repositories.iter().enumerate().zip(listings) {
            let id = (first_id + offset) as RepositoryId;
            match listing {
                Ok(tags) => {
                    let tags: BTreeSet<String> = tags.into_iter().collect();
                    for tag in tags {
                        // Tags count against the object bound too: each becomes a root to fetch.
                        if roots.len() >= self.object_limit {
                            self.skipped += 1;
                            continue;
                        }
                        if is_valid_tag(&tag) {
                            roots.push((id, tag.into_boxed_str()));
                        } else {
                            self.report.broken.push(Broken {
                                repository: repository.clone(),
                                reference: crate::redact::Redactor::new(&self.config.credentials)
                                    .text(&tag)
                                    .chars()
                                    .take(300)
                                    .collect(),
                                kind: Kind::Tag,
                                status: Some(200),
                                parent: None,
                                detail: "the tag list holds an invalid tag name; not walked".into(),
                            });
                        }
                    }
                }
                Err(ListingError::NotFound) => {}
                Err(ListingError::Failed { status, detail }) => self.report.broken.push(Broken {
                    repository: repository.clone(),
                    reference: String::new(),
                    kind: Kind::Repository,
                    status,
                    parent: None,
                    detail: format!("tag list: {detail}"),
                }),
            }
        }
    }

    /// Reads a paginated listing, following same-origin `rel="next"` links within the page and entry limits.
    async fn list_pages<F>(&self, base_path: &str, parse: F) -> Result<Vec<String>, ListingError>
    where
        F: Fn(&[u8]) -> Result<Vec<String>, serde_json::Error>,
    {
        let origin = {
            let endpoint = self.client.endpoint();
            let scheme = if endpoint.https { "https" } else { "http" };
            format!("{scheme}://{}{}", endpoint.authority(), endpoint.base_path)
        };
        let mut entries = Vec::new();
        let mut next = format!("{base_path}?n={PAGE_SIZE_ENTRIES}");
        let mut fell_back = false;
        let mut seen_pages = BTreeSet::new();
        for _ in 0..PAGE_LIMIT {
            if !seen_pages.insert(next.clone()) {
                return Err(ListingError::failed(
                    None,
                    format!("pagination loops back to {next}"),
                ));
            }
            let response = self
                .client
                .request(
                    Method::GET,
                    next.clone(),
                    None,
                    self.config.listing_limit_bytes,
                )
                .await
                .map_err(|error| ListingError::failed(None, error.to_string()))?;
            match response.status {
                200 => {}
                // A server whose maximum page is smaller answers 400 PAGINATION_NUMBER_INVALID; its default size
                // is then the safe choice, and the Link header carries the rest.
                400 if !fell_back && entries.is_empty() => {
                    fell_back = true;
                    next = format!("{base_path}?n={FALLBACK_PAGE_SIZE_ENTRIES}");
                    continue;
                }
                404 => return Err(ListingError::NotFound),
                status => return Err(ListingError::failed(Some(status), error_detail(&response))),
            }
            let page = parse(&response.body).map_err(|error| {
                ListingError::failed(Some(200), format!("invalid JSON listing: {error}"))
            })?;
            entries.extend(page);
            if entries.len() > self.config.listing_limit_entries {
                return Err(ListingError::failed(
                    Some(200),
                    format!("more than {} entries", self.config.listing_limit_entries),
                ));
            }
            match next_page(&response.headers, &origin) {
                Ok(Some(path)) => {
                    next = match path.strip_prefix(self.client.endpoint().base_path.as_str()) {
                        Some(rest) if !self.client.endpoint().base_path.is_empty() => {
                            rest.to_string()
                        }
                        _ => path,
                    }
                }
                Ok(None) => return Ok(entries),
                Err(reason) => return Err(ListingError::failed(Some(200), reason)),
            }
        }
        Err(ListingError::failed(
            None,
            format!("more than {PAGE_LIMIT} pages"),
        ))
    }

    /// Fetches each tag's manifest (or, for `--image NAME@DIGEST`, the digest's), a chunk at a time, and walks
    /// everything below a chunk before fetching the next: a tag's queued children and blobs are judged and dropped
    /// before later tags are read, so what the walk holds is its seen sets, not a whole registry's level.
    async fn check_roots(&mut self, roots: Vec<Root>) {
        // Each chunk is absorbed before the next is fetched: the bodies of a whole level at once are what took 300
        // tags of 4 MiB manifests to 1.34 GB.
        let slots = self.config.manifest_slots();
        self.pending_roots = roots.len();
        let mut roots = roots.into_iter().peekable();
        while roots.peek().is_some() {
            let chunk: Vec<Root> = roots.by_ref().take(slots).collect();
            self.pending_roots -= chunk.len();
            self.check_root_chunk(chunk, slots).await;
            self.check_manifest_stack(slots).await;
            if self.blob_queue.len() >= self.blob_chunk_size() {
                self.check_blobs().await;
            }
        }
    }

    /// `GET /v2/<repository>/manifests/<reference>`, under the manifest size limit.
    fn get_manifest(
        &self,
        repository: RepositoryId,
        reference: &dyn std::fmt::Display,
    ) -> impl std::future::Future<Output = Result<Response, RequestError>> + '_ {
        let path = format!(
            "/v2/{}/manifests/{reference}",
            self.repositories[repository as usize]
        );
        self.client.request(
            Method::GET,
            path,
            Some(MANIFEST_ACCEPT),
            self.config.manifest_limit_bytes,
        )
    }

    async fn check_root_chunk(&mut self, roots: Vec<Root>, slots: usize) {
        let responses = run_bounded(
            roots
                .iter()
                .map(|(repository, reference)| self.get_manifest(*repository, reference)),
            slots,
        )
        .await;
        for ((repository, reference), response) in roots.into_iter().zip(responses) {
            let by_digest = is_valid_digest(&reference);
            let kind = if by_digest { Kind::Manifest } else { Kind::Tag };
            let broken = |status, detail| Broken {
                repository: self.repositories[repository as usize].clone(),
                reference: reference.to_string(),
                kind,
                status,
                parent: None,
                detail,
            };
            let response = match ok_response(response) {
                Ok(response) => response,
                Err((status, detail)) => {
                    self.report.broken.push(broken(status, detail));
                    continue;
                }
            };
            let body_digest = DigestKey::sha256_of(&response.body);
            let digest = if by_digest {
                DigestKey::new(&reference)
            } else {
                body_digest.clone()
            };
            if by_digest
                && self.config.verify_digests
                && reference.starts_with("sha256:")
                && digest != body_digest
            {
                let detail = format!("content digest mismatch: the body hashes to {body_digest}");
                self.report.broken.push(broken(Some(200), detail));
                continue;
            }
            if !self.seen_manifests.insert((repository, digest.clone())) {
                continue;
            }
            let parent_label = if by_digest {
                digest.to_string()
            } else {
                reference.into_string()
            };
            self.absorb(
                repository,
                &digest,
                &response,
                Kind::Manifest,
                &parent_label,
                &Arc::from([]),
            );
        }
    }

    /// Fetches queued index children, deepest first, a chunk at a time, until none are left; children nested
    /// deeper than the depth limit are reported instead of fetched.
    async fn check_manifest_stack(&mut self, slots: usize) {
        let blob_chunk_size = self.blob_chunk_size();
        while !self.manifest_stack.is_empty() {
            let keep = self.manifest_stack.len().saturating_sub(slots);
            let mut chunk = self.manifest_stack.split_off(keep);
            chunk.retain(|item| {
                // The tag's own manifest is the first ancestor, so its children are at depth 1.
                if item.ancestors.len() <= self.config.index_depth_limit {
                    return true;
                }
                self.report.broken.push(Broken {
                    repository: self.repositories[item.repository as usize].clone(),
                    reference: item.digest.to_string(),
                    kind: item.kind,
                    status: None,
                    parent: Some(item.parent.to_string()),
                    detail: format!(
                        "indexes nest deeper than {}; not walked",
                        self.config.index_depth_limit
                    ),
                });
                false
            });
            self.check_manifest_chunk(chunk, slots).await;
            if self.blob_queue.len() >= blob_chunk_size {
                self.check_blobs().await;
            }
        }
    }

    /// Fetches one chunk of queued manifests and absorbs them before the next chunk is fetched.
    async fn check_manifest_chunk(&mut self, chunk: Vec<ManifestItem>, slots: usize) {
        let responses = run_bounded(
            chunk
                .iter()
                .map(|item| self.get_manifest(item.repository, &item.digest)),
            slots,
        )
        .await;
        for (item, response) in chunk.into_iter().zip(responses) {
            let broken = |status, detail| Broken {
                repository: self.repositories[item.repository as usize].clone(),
                reference: item.digest.to_string(),
                kind: item.kind,
                status,
                parent: Some(item.parent.to_string()),
                detail,
            };
            let response = match ok_response(response) {
                Ok(response) => response,
                Err((status, detail)) => {
                    self.report.broken.push(broken(status, detail));
                    continue;
                }
            };
            if self.config.verify_digests && matches!(item.digest, DigestKey::Sha256(_)) {
                let actual = DigestKey::sha256_of(&response.body);
                if actual != item.digest {
                    let detail = format!("content digest mismatch: the body hashes to {actual}");
                    self.report.broken.push(broken(Some(200), detail));
                    continue;
                }
            }
            self.absorb(
                item.repository,
                &item.digest,
                &response,
                item.kind,
                &item.parent.to_string(),
                &item.ancestors,
            );
        }
    }

    /// Blob HEADs are issued in chunks of this many: a HEAD answer has no body, so a chunk may be larger than a
    /// chunk of manifests.
    fn blob_chunk_size(&self) -> usize {
        self.config.concurrency.max(1) * BLOB_CHUNK_PER_SLOT
    }

    /// HEADs every queued config and layer once, a chunk at a time: every answer of a million blobs at once,
    /// headers and all, would hold hundreds of megabytes.
    async fn check_blobs(&mut self) {
        let queue = std::mem::take(&mut self.blob_queue);
        self.report.blobs += queue.len() as u64;
        let chunk_size = self.blob_chunk_size();
        let mut queue = queue.into_iter().peekable();
        while queue.peek().is_some() {
            let chunk: Vec<BlobItem> = queue.by_ref().take(chunk_size).collect();
            self.check_blob_chunk(chunk).await;
        }
    }

    async fn check_blob_chunk(&mut self, queue: Vec<BlobItem>) {
        let failures = run_bounded(
            queue.iter().map(|item| {
                let path = format!(
                    "/v2/{}/blobs/{}",
                    self.repositories[item.repository as usize], item.digest
                );
                // Reduced to its verdict as soon as it arrives: a response's header values share hyper's read
                // buffer, so a chunk of whole responses would pin kilobytes per blob until the chunk is done.
                let request = self
                    .client
                    .request(Method::HEAD, path, None, SMALL_BODY_LIMIT_BYTES);
                async move { blob_failure(request.await) }
            }),
            self.config.concurrency,
        )
        .await;
        for (item, failure) in queue.into_iter().zip(failures) {
            if let Some((status, detail)) = failure {
                self.report.broken.push(Broken {
                    repository: self.repositories[item.repository as usize].clone(),
                    reference: item.digest.to_string(),
                    kind: item.kind,
                    status,
                    parent: Some(item.parent.to_string()),
                    detail,
                });
            }
        }
    }

    /// Parses a fetched manifest and queues what it refers to.
    fn absorb(
        &mut self,
        repository: RepositoryId,
        digest: &DigestKey,
        response: &Response,
        expected_kind: Kind,
        parent: &str,
        ancestors: &Arc<[DigestKey]>,
    ) {
        let content_type = response
            .headers
            .get(http::header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok());
        let document = match Document::parse(&response.body, content_type) {
            Ok(document) => document,
            Err(error) => {
                self.report.broken.push(Broken {
                    repository: self.repositories[repository as usize].clone(),
                    reference: digest.to_string(),
                    kind: expected_kind,
                    status: Some(200),
                    parent: Some(parent.to_string()),
                    detail: error.to_string(),
                });
                return;
            }
        };
        match document {
            Document::Index { children } => {
                self.report.indexes += 1;
                // One path for all the children, shared rather than copied per child.
                let path: Arc<[DigestKey]> = ancestors
                    .iter()
                    .cloned()
                    .chain(std::iter::once(digest.clone()))
                    .collect();
                for child in children {
                    self.queue_child(repository, digest, &path, child);
                }
            }
            Document::Manifest { config, layers } => {
                self.report.manifests += 1;
                self.queue_blob(repository, digest, config, Kind::Config);
                for layer in layers {
                    self.queue_blob(repository, digest, layer, Kind::Layer);
                }
            }
        }
    }

    fn queue_child(
        &mut self,
        repository: RepositoryId,
        parent: &DigestKey,
        ancestors: &Arc<[DigestKey]>,
        child: Descriptor,
    ) {
        let kind = if child.media_type.as_deref().is_some_and(is_index) {
            Kind::Index
        } else {
            Kind::Manifest
        };
        let digest = DigestKey::new(&child.digest);
        // Content addressing makes a true cycle impossible, but a hostile or corrupt server can still serve one.
        if ancestors.contains(&digest) {
            self.report.broken.push(Broken {
                repository: self.repositories[repository as usize].clone(),
                reference: child.digest,
                kind,
                status: None,
                parent: Some(parent.to_string()),
                detail: "index cycle: the child is one of its own ancestors; not walked".into(),
            });
            return;
        }
        let key = (repository, digest);
        if self.seen_manifests.contains(&key) {
            return;
        }
        if self.at_object_limit() {
            self.skipped += 1;
            return;
        }
        let digest = key.1.clone();
        self.seen_manifests.insert(key);
        self.manifest_stack.push(ManifestItem {
            repository,
            digest,
            kind,
            parent: parent.clone(),
            ancestors: ancestors.clone(),
        });
    }

    /// Whether the walk tracks as many objects as its memory bound allows. A queued object counts twice, once in
    /// its seen set and once in its queue, since it costs both.
    fn at_object_limit(&self) -> bool {
        self.pending_roots
            + self.seen_manifests.len()
            + self.seen_blobs.len()
            + self.manifest_stack.len()
            + self.blob_queue.len()
            >= self.object_limit
    }

    fn queue_blob(
        &mut self,
        repository: RepositoryId,
        parent: &DigestKey,
        blob: Descriptor,
        kind: Kind,
    ) {
        let key = (repository, DigestKey::new(&blob.digest));
        if self.seen_blobs.contains(&key) {
            return;
        }
        if self.at_object_limit() {
            self.skipped += 1;
            return;
        }
        let digest = key.1.clone();
        self.seen_blobs.insert(key);
        self.blob_queue.push(BlobItem {
            repository,
            digest,
            kind,
            parent: parent.clone(),
        });
    }
}

/// Why a listing could not be read.
enum ListingError {
    /// 404: for a tag list, a repository without tags.
    NotFound,
    Failed {
        status: Option<u16>,
        detail: String,
    },
}

impl ListingError {
    fn failed(status: Option<u16>, detail: String) -> Self {
        ListingError::Failed { status, detail }
    }
}

fn is_redirect(status: u16) -> bool {
    (300..400).contains(&status)
}

/// Why a blob's HEAD shows it unreachable: its status (if any) and a description; `None` when it is reachable.
fn blob_failure(response: Result<Response, RequestError>) -> Option<(Option<u16>, String)> {
    match response {
        Ok(response) if response.status == 200 => None,
        // A registry on object storage redirects blob reads to the storage backend; it does so only after resolving
        // the repository's link, so the redirect itself proves the blob reachable. It is not followed, since the
        // target is another host.
        Ok(response)
            if is_redirect(response.status) && response.headers.contains_key("location") =>
        {
            None
        }
        Ok(response) => Some((Some(response.status), error_detail(&response))),
        Err(error) => Some((None, error.to_string())),
    }
}

/// A 200 response, or the status (if any) and a description of what went wrong.
fn ok_response(
    response: Result<Response, RequestError>,
) -> Result<Response, (Option<u16>, String)> {
    match response {
        Ok(response) if response.status == 200 => Ok(response),
        Ok(response) if is_redirect(response.status) => Err((
            Some(response.status),
            "redirect not followed: a registry serves manifests itself".into(),
        )),
        Ok(response) => Err((Some(response.status), error_detail(&response))),
        Err(error) => Err((None, error.to_string())),
    }
}

/// The registry's error code (e.g. MANIFEST_UNKNOWN) from an error body, or the bare status.
fn error_detail(response: &Response) -> String {
    #[derive(Deserialize)]
    struct Errors {
        errors: Vec<ErrorEntry>,
    }
    #[derive(Deserialize)]
    struct ErrorEntry {
        code: String,
    }
    let codes = serde_json::from_slice::<Errors>(&response.body)
        .ok()
        .map(|errors| {
            errors
                .errors
                .into_iter()
                .map(|entry| standard_code(&entry.code))
                .take(4)
                .collect::<Vec<_>>()
                .join(", ")
        })
        .filter(|codes| !codes.is_empty());
    match codes {
        Some(codes) => format!("HTTP {} {codes}", response.status),
        None => format!("HTTP {}", response.status),
    }
}

/// The error code as distribution's spec defines codes (`MANIFEST_UNKNOWN`: upper case, digits, underscores, at
/// most 64 characters), or a placeholder: anything else is free text from the server, which may echo the request's
/// Authorization header or carry terminal escapes, so it is never printed.
fn standard_code(code: &str) -> String {
    let standard = !code.is_empty()
        && code.len() <= 64
        && code
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
    if standard {
        code.to_string()
    } else {
        "(a non-standard error code, not shown)".to_string()
    }
}

/// `sha256:<hex>` of the bytes.
pub fn sha256_digest(bytes: &[u8]) -> String {
    let hash = Sha256::digest(bytes);
    let mut text = String::with_capacity(71);
    text.push_str("sha256:");
    for byte in hash {
        text.push_str(&format!("{byte:02x}"));
    }
    text
}
