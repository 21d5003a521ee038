//! The registry's HTTP API as a pure function: `handle(&mut Registry, Request) -> Response`.
//!
//! Source: distribution v2.8.3 `registry/handlers/{manifests,blob,blobupload,catalog,tags}.go`,
//! `registry/storage/{manifeststore,linkedblobstore,tagstore,blobwriter}.go` and
//! `registry/api/v2/errors.go` for the error codes, messages and statuses.

use serde_json::{json, Value};

use super::cache::{BlobDescriptor, StatError};
use super::manifest::{self, ManifestKind, ParsedManifest};
use super::storage::{less_path, paths, Digest, LinkError};
use super::Registry;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Head,
    Put,
    Post,
    Patch,
    Delete,
}

impl Method {
    pub fn parse(method: &str) -> Option<Self> {
        match method {
            "GET" => Some(Method::Get),
            "HEAD" => Some(Method::Head),
            "PUT" => Some(Method::Put),
            "POST" => Some(Method::Post),
            "PATCH" => Some(Method::Patch),
            "DELETE" => Some(Method::Delete),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Head => "HEAD",
            Method::Put => "PUT",
            Method::Post => "POST",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }
}

/// An HTTP request: the method, the path with its query, the headers in order, the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub method: Method,
    pub path_and_query: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    pub fn new(method: Method, path_and_query: impl Into<String>) -> Self {
        Request {
            method,
            path_and_query: path_and_query.into(),
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    pub fn get(path_and_query: impl Into<String>) -> Self {
        Self::new(Method::Get, path_and_query)
    }

    pub fn head(path_and_query: impl Into<String>) -> Self {
        Self::new(Method::Head, path_and_query)
    }

    pub fn put(path_and_query: impl Into<String>) -> Self {
        Self::new(Method::Put, path_and_query)
    }

    pub fn post(path_and_query: impl Into<String>) -> Self {
        Self::new(Method::Post, path_and_query)
    }

    pub fn delete(path_and_query: impl Into<String>) -> Self {
        Self::new(Method::Delete, path_and_query)
    }

    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    pub fn with_body(mut self, body: Vec<u8>) -> Self {
        self.body = body;
        self
    }

    /// Every value of a header, case-insensitively, in order.
    pub fn header_values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn path(&self) -> &str {
        self.path_and_query
            .split_once('?')
            .map_or(self.path_and_query.as_str(), |(p, _)| p)
    }

    /// The first value of a query parameter, percent-decoded, as Go's `URL.Query().Get`.
    fn query(&self, name: &str) -> Option<String> {
        let (_, query) = self.path_and_query.split_once('?')?;
        query.split('&').find_map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(key) == name).then(|| percent_decode(value))
        })
    }
}

/// An HTTP response: status, headers in order, body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    fn new(status: u16) -> Self {
        Response {
            status,
            headers: vec![(
                "Docker-Distribution-Api-Version".into(),
                "registry/2.0".into(),
            )],
            body: Vec::new(),
        }
    }

    fn header_set(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        self.headers.push((name.to_owned(), value.into()));
        self
    }

    fn json(status: u16, value: &Value) -> Self {
        // Go's json.Encoder ends the document with a newline.
        let mut body = serde_json::to_vec(value).expect("a json value serializes");
        body.push(b'\n');
        Response::new(status)
            .header_set("Content-Type", "application/json; charset=utf-8")
            .header_set("Content-Length", body.len().to_string())
            .with_body(body)
    }

    fn with_body(mut self, body: Vec<u8>) -> Self {
        self.body = body;
        self
    }

    /// The first value of a header, case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The `Docker-Content-Digest` header, parsed.
    pub fn content_digest(&self) -> Option<Digest> {
        self.header("Docker-Content-Digest").and_then(Digest::parse)
    }

    /// The error codes of a distribution error body, in order; empty for a success.
    pub fn error_codes(&self) -> Vec<String> {
        let Ok(value) = serde_json::from_slice::<Value>(&self.body) else {
            return Vec::new();
        };
        value
            .get("errors")
            .and_then(Value::as_array)
            .map(|errors| {
                errors
                    .iter()
                    .filter_map(|e| e.get("code")?.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// The error codes of `registry/api/v2/errors.go` and `registry/api/errcode/register.go` the model answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    BlobUnknown,
    BlobUploadUnknown,
    DigestInvalid,
    ManifestUnknown,
    ManifestInvalid,
    ManifestBlobUnknown,
    NameUnknown,
    PaginationNumberInvalid,
    Unsupported,
    Unknown,
}

impl ErrorCode {
    pub fn code(self) -> &'static str {
        match self {
            ErrorCode::BlobUnknown => "BLOB_UNKNOWN",
            ErrorCode::BlobUploadUnknown => "BLOB_UPLOAD_UNKNOWN",
            ErrorCode::DigestInvalid => "DIGEST_INVALID",
            ErrorCode::ManifestUnknown => "MANIFEST_UNKNOWN",
            ErrorCode::ManifestInvalid => "MANIFEST_INVALID",
            ErrorCode::ManifestBlobUnknown => "MANIFEST_BLOB_UNKNOWN",
            ErrorCode::NameUnknown => "NAME_UNKNOWN",
            ErrorCode::PaginationNumberInvalid => "PAGINATION_NUMBER_INVALID",
            ErrorCode::Unsupported => "UNSUPPORTED",
            ErrorCode::Unknown => "UNKNOWN",
        }
    }

    pub fn message(self) -> &'static str {
        match self {
            ErrorCode::BlobUnknown | ErrorCode::ManifestBlobUnknown => "blob unknown to registry",
            ErrorCode::BlobUploadUnknown => "blob upload unknown to registry",
            ErrorCode::DigestInvalid => "provided digest did not match uploaded content",
            ErrorCode::ManifestUnknown => "manifest unknown",
            ErrorCode::ManifestInvalid => "manifest invalid",
            ErrorCode::NameUnknown => "repository name not known to registry",
            ErrorCode::PaginationNumberInvalid => "invalid number of results requested",
            ErrorCode::Unsupported => "The operation is unsupported.",
            ErrorCode::Unknown => "unknown error",
        }
    }

    pub fn status(self) -> u16 {
        match self {
            ErrorCode::BlobUnknown
            | ErrorCode::BlobUploadUnknown
            | ErrorCode::ManifestUnknown
            | ErrorCode::NameUnknown => 404,
            ErrorCode::DigestInvalid
            | ErrorCode::ManifestInvalid
            | ErrorCode::ManifestBlobUnknown
            | ErrorCode::PaginationNumberInvalid => 400,
            ErrorCode::Unsupported => 405,
            ErrorCode::Unknown => 500,
        }
    }
}

/// One entry of an error body: a code and its optional detail.
fn error(code: ErrorCode, detail: Option<Value>) -> Response {
    errors(&[(code, detail)])
}

/// An error body in distribution's format; the status is the first error's, as `errcode.ServeJSON` does.
fn errors(entries: &[(ErrorCode, Option<Value>)]) -> Response {
    let status = entries.first().map_or(500, |(code, _)| code.status());
    let list: Vec<Value> = entries
        .iter()
        .map(|(code, detail)| {
            let mut entry = json!({"code": code.code(), "message": code.message()});
            if let Some(detail) = detail {
                entry["detail"] = detail.clone();
            }
            entry
        })
        .collect();
    Response::json(status, &json!({ "errors": list }))
}

/// Go's `http.NotFound`, answered when no route matches.
fn route_not_found() -> Response {
    Response::new(404)
        .header_set("Content-Type", "text/plain; charset=utf-8")
        .with_body(b"404 page not found\n".to_vec())
}

fn method_not_allowed() -> Response {
    Response::new(405)
}

/// Handles one request against the registry. HEAD answers carry GET's headers and no body, as Go's server sends them.
pub fn handle(registry: &mut Registry, request: Request) -> Response {
    let mut response = route(registry, &request);
    if request.method == Method::Head {
        response.body.clear();
    }
    response
}

fn route(registry: &mut Registry, request: &Request) -> Response {
    let path = request.path().to_owned();
    let Some(rest) = path.strip_prefix("/v2/") else {
        return route_not_found();
    };
    if rest.is_empty() {
        return match request.method {
            Method::Get | Method::Head => Response::json(200, &json!({})),
            _ => method_not_allowed(),
        };
    }
    if rest == "_catalog" {
        return match request.method {
            Method::Get | Method::Head => catalog(registry, request),
            _ => method_not_allowed(),
        };
    }
    if let Some(name) = rest.strip_suffix("/tags/list") {
        return match (valid_repository_name(name), request.method) {
            (false, _) => route_not_found(),
            (true, Method::Get | Method::Head) => tags_list(registry, request, name),
            (true, _) => method_not_allowed(),
        };
    }
    if let Some((name, reference)) = rest.rsplit_once("/manifests/") {
        if !valid_repository_name(name)
            || !(valid_tag(reference) || Digest::parse(reference).is_some())
        {
            return route_not_found();
        }
        return match request.method {
            Method::Get | Method::Head => get_manifest(registry, request, name, reference),
            Method::Put => put_manifest(registry, request, name, reference),
            Method::Delete => delete_manifest(registry, name, reference),
            _ => method_not_allowed(),
        };
    }
    if let Some((name, upload)) = rest.rsplit_once("/blobs/uploads/") {
        if !valid_repository_name(name) {
            return route_not_found();
        }
        return match (upload.is_empty(), request.method) {
            (true, Method::Post) => start_upload(registry, request, name),
            (false, Method::Patch) => patch_upload(registry, request, name, upload),
            (false, Method::Put) => complete_upload(registry, request, name, upload),
            _ => method_not_allowed(),
        };
    }
    if let Some((name, digest)) = rest.rsplit_once("/blobs/") {
        if !valid_repository_name(name) {
            return route_not_found();
        }
        let Some(digest) = Digest::parse(digest) else {
            return error(ErrorCode::DigestInvalid, None);
        };
        return match request.method {
            Method::Get | Method::Head => get_blob(registry, name, &digest),
            Method::Delete => delete_blob(registry, name, &digest),
            _ => method_not_allowed(),
        };
    }
    route_not_found()
}

// Catalog and tags.

/// `GET /v2/_catalog` as `catalogHandler.GetCatalog` answers it.
fn catalog(registry: &mut Registry, request: &Request) -> Response {
    let max_entries = registry.config.catalog_max_entries;
    let (entries, last) = match page_request(request, max_entries) {
        Ok(page) => page,
        Err(response) => return response,
    };
    let after_last: Vec<String> = registry
        .storage
        .repositories()
        .into_iter()
        .filter(|repo| less_path(&last, repo))
        .collect();
    let (page, more_entries) = take_page(after_last, entries);
    let mut response = Response::json(200, &json!({ "repositories": page }));
    if more_entries {
        let last_entry = page.last().expect("a full page is not empty");
        response = response.header_set("Link", next_link("/v2/_catalog", entries, last_entry));
    }
    response
}

/// `GET /v2/<name>/tags/list` as `tagsHandler.GetTags` answers it: every tag directory name,
/// NAME_UNKNOWN when `_manifests/tags` is missing, and `"tags":null` when it is empty
/// (Go encodes the nil slice of an empty listing as null).
fn tags_list(registry: &mut Registry, request: &Request, name: &str) -> Response {
    let Ok(entries) = registry.storage.list(&paths::tags_root(name)) else {
        return error(ErrorCode::NameUnknown, Some(json!({ "name": name })));
    };
    let tags: Vec<String> = entries
        .iter()
        .map(|e| e.path.file_name().to_owned())
        .collect();
    if !registry.config.tags_list_pagination {
        let tags_value = if tags.is_empty() {
            Value::Null
        } else {
            json!(tags)
        };
        return Response::json(200, &json!({ "name": name, "tags": tags_value }));
    }
    let (entries, last) = match page_request(request, registry.config.catalog_max_entries) {
        Ok(page) => page,
        Err(response) => return response,
    };
    let after_last: Vec<String> = tags
        .into_iter()
        .filter(|t| last.is_empty() || t.as_str() > last.as_str())
        .collect();
    let (page, more_entries) = take_page(after_last, entries);
    let mut response = Response::json(200, &json!({ "name": name, "tags": page }));
    if more_entries {
        let last_entry = page.last().expect("a full page is not empty");
        response = response.header_set(
            "Link",
            next_link(&format!("/v2/{name}/tags/list"), entries, last_entry),
        );
    }
    response
}

/// Parses `n` and `last` as the 2.8.x catalog handler does: an unparseable or negative `n`
/// means the default of 100; an `n` above the maximum is 400 PAGINATION_NUMBER_INVALID.
fn page_request(request: &Request, max_entries: usize) -> Result<(usize, String), Response> {
    const DEFAULT_RETURNED_ENTRIES: usize = 100;
    let mut entries = DEFAULT_RETURNED_ENTRIES;
    if let Some(Ok(requested)) = request
        .query("n")
        .filter(|n| !n.is_empty())
        .map(|n| n.parse::<i64>())
    {
        if requested > max_entries as i64 {
            return Err(error(
                ErrorCode::PaginationNumberInvalid,
                Some(json!({ "n": requested })),
            ));
        }
        if requested >= 0 {
            entries = requested as usize;
        }
    }
    Ok((
        entries.min(max_entries),
        request.query("last").unwrap_or_default(),
    ))
}

/// The first `entries` items, and whether a Link header follows. 2.8.x stops its walk once the
/// page is full and then always links a next page, even when nothing follows.
fn take_page(items: Vec<String>, entries: usize) -> (Vec<String>, bool) {
    if entries == 0 {
        return (Vec::new(), false);
    }
    let more_entries = items.len() >= entries;
    (items.into_iter().take(entries).collect(), more_entries)
}

/// `createLinkEntry`: the request path with `last` and `n` re-encoded by `url.Values.Encode`, which sorts keys.
fn next_link(path: &str, entries: usize, last_entry: &str) -> String {
    format!(
        "<{path}?last={}&n={entries}>; rel=\"next\"",
        query_escape(last_entry)
    )
}

// Manifests.

/// The media types a request's `Accept` headers name, as `GetManifest` collects them.
#[derive(Debug, Default, Clone, Copy)]
struct Supports {
    docker_manifest: bool,
    docker_manifest_list: bool,
    oci_manifest: bool,
    oci_index: bool,
}

impl Supports {
    fn from_request(request: &Request) -> Self {
        let mut supports = Supports::default();
        for header in request.header_values("Accept") {
            for media_type in header.split(',') {
                let media_type = media_type.split(';').next().unwrap_or("").trim();
                match media_type {
                    manifest::DOCKER_MANIFEST => supports.docker_manifest = true,
                    manifest::DOCKER_MANIFEST_LIST => supports.docker_manifest_list = true,
                    manifest::OCI_MANIFEST => supports.oci_manifest = true,
                    manifest::OCI_INDEX => supports.oci_index = true,
                    _ => {}
                }
            }
        }
        supports
    }
}

/// A manifest read through the repository's manifest store.
struct StoredManifest {
    content: Vec<u8>,
    parsed: ParsedManifest,
}

/// `manifestStore.Get`: the manifest statter (revision or `_layers` link, then cached data
/// lookup), then the data itself. Both "no link" and "no data" are MANIFEST_UNKNOWN.
fn load_manifest(
    registry: &mut Registry,
    name: &str,
    digest: &Digest,
) -> Result<StoredManifest, Response> {
    let unknown = || {
        error(
            ErrorCode::ManifestUnknown,
            Some(json!({ "Name": name, "Revision": digest.as_str() })),
        )
    };
    let target = match registry
        .cache
        .stat_manifest(&registry.storage, name, digest)
    {
        Ok(descriptor) => descriptor.digest,
        Err(StatError::BlobUnknown) => return Err(unknown()),
        Err(StatError::CorruptLink) => return Err(error(ErrorCode::Unknown, None)),
    };
    let Some(content) = registry.storage.blob_data(&target) else {
        return Err(unknown());
    };
    let content = content.to_vec();
    match manifest::parse_stored(&content) {
        Ok(parsed) => Ok(StoredManifest { content, parsed }),
        Err(e) => Err(error(ErrorCode::Unknown, Some(json!(e.0)))),
    }
}

/// `GET`/`HEAD /v2/<name>/manifests/<reference>` as `manifestHandler.GetManifest` answers it.
fn get_manifest(
    registry: &mut Registry,
    request: &Request,
    name: &str,
    reference: &str,
) -> Response {
    let supports = Supports::from_request(request);
    let tag = Digest::parse(reference).is_none().then_some(reference);
    let mut digest = match tag {
        None => Digest::parse(reference).expect("checked by the router"),
        Some(tag) => match registry
            .storage
            .read_link(&paths::tag_current_link(name, tag))
        {
            Ok(digest) => digest,
            Err(LinkError::NotFound) => {
                return error(ErrorCode::ManifestUnknown, Some(json!({ "Tag": tag })));
            }
            Err(LinkError::Corrupt) => return error(ErrorCode::Unknown, None),
        },
    };
    if etag_matches(request, &digest) {
        return Response::new(304);
    }
    let mut stored = match load_manifest(registry, name, &digest) {
        Ok(stored) => stored,
        Err(response) => return response,
    };
    let kind = stored.parsed.kind;
    if kind == ManifestKind::OciManifest && !supports.oci_manifest {
        return error(
            ErrorCode::ManifestUnknown,
            Some(json!(
                "OCI manifest found, but accept header does not support OCI manifests"
            )),
        );
    }
    if kind == ManifestKind::OciIndex && !supports.oci_index {
        return error(
            ErrorCode::ManifestUnknown,
            Some(json!(
                "OCI index found, but accept header does not support OCI indexes"
            )),
        );
    }
    if let (Some(tag), ManifestKind::DockerManifest, false) = (tag, kind, supports.docker_manifest)
    {
        return schema1_rewrite(registry, name, tag, &stored.parsed);
    }
    if let (Some(tag), ManifestKind::DockerManifestList, false) =
        (tag, kind, supports.docker_manifest_list)
    {
        // The rewrite for old clients: serve the linux/amd64 child in place of the list, with
        // the child's digest in Docker-Content-Digest. This is how an API cleanup that HEADs a
        // tag with only the schema2 Accept ends up deleting a child instead of the list.
        let amd64_child = stored.parsed.manifests.iter().find(|child| {
            child
                .platform
                .as_ref()
                .is_some_and(|p| p.architecture == "amd64" && p.os == "linux")
        });
        let Some(child) = amd64_child.map(|c| c.digest.clone()) else {
            return error(ErrorCode::ManifestUnknown, None);
        };
        let child_manifest = match load_manifest(registry, name, &child) {
            Ok(stored) => stored,
            Err(response) => return response,
        };
        if child_manifest.parsed.kind == ManifestKind::DockerManifest && !supports.docker_manifest {
            return schema1_rewrite(registry, name, tag, &child_manifest.parsed);
        }
        digest = child;
        stored = child_manifest;
    }
    Response::new(200)
        .header_set("Content-Type", stored.parsed.kind.media_type())
        .header_set("Content-Length", stored.content.len().to_string())
        .header_set("Docker-Content-Digest", digest.as_str())
        .header_set("Etag", format!("\"{digest}\""))
        .with_body(stored.content)
}

/// `etagMatch`: an `If-None-Match` naming the digest, quoted or not, answers 304.
fn etag_matches(request: &Request, digest: &Digest) -> bool {
    request.header_values("If-None-Match").any(|value| {
        value
            .split(',')
            .map(str::trim)
            .any(|tag| tag == digest.as_str() || tag == format!("\"{digest}\""))
    })
}

/// 2.8.x rewrites a schema2 manifest into a signed schema1 manifest for a client that asked
/// by tag without accepting schema2. The real signature uses the registry's random trust key,
/// so its digest cannot be predicted; the model answers a deterministic unsigned stand-in
/// with the same media type, and fails as 2.8.x does when the config blob is unknown.
fn schema1_rewrite(
    registry: &mut Registry,
    name: &str,
    tag: &str,
    image: &ParsedManifest,
) -> Response {
    let Some(config) = image.config.as_ref() else {
        return error(ErrorCode::ManifestInvalid, None);
    };
    if registry
        .cache
        .stat_repository_blob(&registry.storage, name, &config.digest)
        .is_err()
    {
        return error(
            ErrorCode::ManifestInvalid,
            Some(json!(config.digest.as_str())),
        );
    }
    let fs_layers: Vec<Value> = image
        .layers
        .iter()
        .rev()
        .map(|l| json!({ "blobSum": l.digest.as_str() }))
        .collect();
    let body = serde_json::to_vec(&json!({
        "schemaVersion": 1, "name": name, "tag": tag, "architecture": "amd64", "fsLayers": fs_layers,
    }))
    .expect("a json value serializes");
    let digest = Digest::of_bytes(&body);
    Response::new(200)
        .header_set("Content-Type", manifest::DOCKER_SCHEMA1_SIGNED)
        .header_set("Content-Length", body.len().to_string())
        .header_set("Docker-Content-Digest", digest.as_str())
        .header_set("Etag", format!("\"{digest}\""))
        .with_body(body)
}

/// `PUT /v2/<name>/manifests/<reference>`: verify references, write the blob and its revision
/// link, and for a tag write the tag's index link and current link.
fn put_manifest(
    registry: &mut Registry,
    request: &Request,
    name: &str,
    reference: &str,
) -> Response {
    let content_type = request.header_values("Content-Type").next().unwrap_or("");
    let parsed = match manifest::parse_for_put(content_type, &request.body) {
        Ok(parsed) => parsed,
        Err(e) => return error(ErrorCode::ManifestInvalid, Some(json!(e.0))),
    };
    let digest = Digest::of_bytes(&request.body);
    if let Some(expected) = Digest::parse(reference) {
        if expected != digest {
            return error(ErrorCode::DigestInvalid, None);
        }
    }
    // Verification: `schema2ManifestHandler.verifyManifest` stats every config and layer through
    // the repository's (cached) blob store; `manifestListHandler.verifyManifest` checks every
    // child through the manifest store.
    let mut missing = Vec::new();
    for reference in parsed.references() {
        let known = if parsed.kind.is_index() {
            registry
                .cache
                .stat_manifest(&registry.storage, name, &reference.digest)
                .is_ok()
        } else {
            registry
                .cache
                .stat_repository_blob(&registry.storage, name, &reference.digest)
                .is_ok()
        };
        if !known {
            missing.push((
                ErrorCode::ManifestBlobUnknown,
                Some(json!(reference.digest.as_str())),
            ));
        }
    }
    if !missing.is_empty() {
        return errors(&missing);
    }
    // `blobStore.Put` skips the write when the data already exists.
    if !registry.storage.blob_data_exists(&digest) {
        registry.storage.put_blob_data(request.body.clone());
    }
    registry
        .storage
        .write_link(&paths::revision_link(name, &digest), &digest);
    if Digest::parse(reference).is_none() {
        registry
            .storage
            .write_link(&paths::tag_index_link(name, reference, &digest), &digest);
        registry
            .storage
            .write_link(&paths::tag_current_link(name, reference), &digest);
    }
    Response::new(201)
        .header_set("Location", format!("/v2/{name}/manifests/{digest}"))
        .header_set("Content-Length", "0")
        .header_set("Docker-Content-Digest", digest.as_str())
}

/// `DELETE /v2/<name>/manifests/<digest>` as `manifestHandler.DeleteManifest` does it: remove the
/// revision link and the `_layers` link of the digest (`linkedBlobStatter.Clear` tries both link
/// paths), then remove every tag whose current link names the digest. Index links in other tags
/// and the blob data stay.
fn delete_manifest(registry: &mut Registry, name: &str, reference: &str) -> Response {
    if !registry.config.delete_enabled {
        return error(ErrorCode::Unsupported, None);
    }
    // A tag reference leaves the handler's digest empty, which fails digest validation.
    let Some(digest) = Digest::parse(reference) else {
        return error(ErrorCode::DigestInvalid, None);
    };
    match registry
        .cache
        .stat_manifest(&registry.storage, name, &digest)
    {
        Ok(_) => {}
        Err(StatError::BlobUnknown) => return error(ErrorCode::ManifestUnknown, None),
        Err(StatError::CorruptLink) => return error(ErrorCode::Unknown, None),
    }
    // Deleting a link that is already gone is not an error here, as in `Clear`.
    let _ = registry
        .storage
        .remove_link(&paths::revision_link(name, &digest));
    let _ = registry
        .storage
        .remove_link(&paths::layer_link(name, &digest));
    let tags = match tags_pointing_at(registry, name, &digest) {
        Ok(tags) => tags,
        Err(response) => return response,
    };
    for tag in tags {
        let _ = registry.storage.rmtree_tag(name, &tag);
    }
    Response::new(202).header_set("Content-Length", "0")
}

/// `tagStore.Lookup`: the tags whose current link names the digest. A missing tags directory
/// is no tags; a tag without a current link is skipped.
fn tags_pointing_at(
    registry: &Registry,
    name: &str,
    digest: &Digest,
) -> Result<Vec<String>, Response> {
    let Ok(entries) = registry.storage.list(&paths::tags_root(name)) else {
        return Ok(Vec::new());
    };
    let mut tags = Vec::new();
    for entry in entries {
        let tag = entry.path.file_name().to_owned();
        match registry
            .storage
            .read_link(&paths::tag_current_link(name, &tag))
        {
            Ok(current) if &current == digest => tags.push(tag),
            Ok(_) | Err(LinkError::NotFound) => {}
            Err(LinkError::Corrupt) => return Err(error(ErrorCode::Unknown, None)),
        }
    }
    Ok(tags)
}

// Blobs.

/// `GET`/`HEAD /v2/<name>/blobs/<digest>`: the repository's blob statter (cache, `_layers` link,
/// cached data lookup), then `blobServer.ServeBlob`. When the cache answers for data that is
/// gone, the headers promise the size and the body is empty, as the filesystem driver's reader
/// turns a missing file into an empty stream; a client sees a short read.
fn get_blob(registry: &mut Registry, name: &str, digest: &Digest) -> Response {
    let descriptor: BlobDescriptor =
        match registry
            .cache
            .stat_repository_blob(&registry.storage, name, digest)
        {
            Ok(descriptor) => descriptor,
            Err(StatError::BlobUnknown) => {
                return error(ErrorCode::BlobUnknown, Some(json!(digest.as_str())))
            }
            Err(StatError::CorruptLink) => return error(ErrorCode::Unknown, None),
        };
    let body = registry
        .storage
        .blob_data(&descriptor.digest)
        .map(<[u8]>::to_vec)
        .unwrap_or_default();
    Response::new(200)
        .header_set("Content-Type", descriptor.media_type)
        .header_set("Etag", format!("\"{}\"", descriptor.digest))
        .header_set("Cache-Control", "max-age=31536000")
        .header_set("Docker-Content-Digest", descriptor.digest.as_str())
        .header_set("Content-Length", descriptor.size_bytes.to_string())
        .header_set("Accept-Ranges", "bytes")
        .with_body(body)
}

/// `DELETE /v2/<name>/blobs/<digest>`: clears the repository cache entry and the `_layers` link.
fn delete_blob(registry: &mut Registry, name: &str, digest: &Digest) -> Response {
    if !registry.config.delete_enabled {
        return error(ErrorCode::Unsupported, None);
    }
    match registry
        .cache
        .stat_repository_blob(&registry.storage, name, digest)
    {
        Ok(_) => {}
        Err(StatError::BlobUnknown) => {
            return error(ErrorCode::BlobUnknown, Some(json!(digest.as_str())))
        }
        Err(StatError::CorruptLink) => return error(ErrorCode::Unknown, None),
    }
    registry.cache.clear_repository_descriptor(name, digest);
    let _ = registry
        .storage
        .remove_link(&paths::layer_link(name, digest));
    Response::new(202).header_set("Content-Length", "0")
}

// Uploads.

fn upload_dir(name: &str, id: &str) -> super::storage::StoragePath {
    paths::repository_root(name).join(&format!("_uploads/{id}"))
}

/// `POST /v2/<name>/blobs/uploads/`: a cross-repository mount when `mount` and `from` name a
/// blob the source repository can serve, otherwise a new upload session. A mount only writes
/// the `_layers` link (`linkedBlobStore.mount`); unlike an upload commit it caches nothing.
fn start_upload(registry: &mut Registry, request: &Request, name: &str) -> Response {
    if let (Some(mount), Some(from)) = (request.query("mount"), request.query("from")) {
        if let Some(digest) = Digest::parse(&mount) {
            if let Ok(_source) =
                registry
                    .cache
                    .stat_repository_blob(&registry.storage, &from, &digest)
            {
                registry
                    .storage
                    .write_link(&paths::layer_link(name, &digest), &digest);
                return Response::new(201)
                    .header_set("Location", format!("/v2/{name}/blobs/{digest}"))
                    .header_set("Content-Length", "0")
                    .header_set("Docker-Content-Digest", digest.as_str());
            }
        }
    }
    let id = registry.open_upload(name);
    let dir = upload_dir(name, &id);
    registry
        .storage
        .put_content(&dir.join("startedat"), b"0001-01-01T00:00:00Z".to_vec());
    registry.storage.put_content(&dir.join("data"), Vec::new());
    Response::new(202)
        .header_set("Location", format!("/v2/{name}/blobs/uploads/{id}"))
        .header_set("Range", "0-0")
        .header_set("Content-Length", "0")
        .header_set("Docker-Upload-Uuid", id)
}

/// Appends a request body to an upload session's data; `None` when the session is unknown.
fn append_upload(registry: &mut Registry, name: &str, id: &str, body: &[u8]) -> Option<usize> {
    if registry.upload_repository(id) != Some(name) {
        return None;
    }
    let data_path = upload_dir(name, id).join("data");
    let mut data = registry.storage.get_content(&data_path).ok()?.to_vec();
    data.extend_from_slice(body);
    let length = data.len();
    registry.storage.put_content(&data_path, data);
    Some(length)
}

/// `PATCH /v2/<name>/blobs/uploads/<id>`: a chunk.
fn patch_upload(registry: &mut Registry, request: &Request, name: &str, id: &str) -> Response {
    let Some(length) = append_upload(registry, name, id, &request.body) else {
        return error(ErrorCode::BlobUploadUnknown, None);
    };
    Response::new(202)
        .header_set("Location", format!("/v2/{name}/blobs/uploads/{id}"))
        .header_set("Range", format!("0-{}", length.saturating_sub(1)))
        .header_set("Content-Length", "0")
        .header_set("Docker-Upload-Uuid", id)
}

/// `PUT /v2/<name>/blobs/uploads/<id>?digest=<digest>`: the last bytes and the commit, which
/// moves the data into `blobs/` (unless it is there already), writes the `_layers` link and
/// caches the descriptor. A digest mismatch cancels the upload.
fn complete_upload(registry: &mut Registry, request: &Request, name: &str, id: &str) -> Response {
    let Some(_) = append_upload(registry, name, id, &request.body) else {
        return error(ErrorCode::BlobUploadUnknown, None);
    };
    let dir = upload_dir(name, id);
    let data = registry
        .storage
        .get_content(&dir.join("data"))
        .expect("an open upload has data")
        .to_vec();
    let expected = request.query("digest").as_deref().and_then(Digest::parse);
    let actual = Digest::of_bytes(&data);
    let _ = registry.storage.delete(&dir);
    registry.close_upload(id);
    if expected.as_ref() != Some(&actual) {
        return error(ErrorCode::DigestInvalid, None);
    }
    let size_bytes = data.len() as u64;
    if !registry.storage.blob_data_exists(&actual) {
        registry.storage.put_blob_data(data);
    }
    registry
        .storage
        .write_link(&paths::layer_link(name, &actual), &actual);
    let descriptor = BlobDescriptor {
        digest: actual.clone(),
        size_bytes,
        media_type: "application/octet-stream",
    };
    registry
        .cache
        .set_repository_descriptor(name, &actual, &descriptor);
    Response::new(201)
        .header_set("Location", format!("/v2/{name}/blobs/{actual}"))
        .header_set("Content-Length", "0")
        .header_set("Docker-Content-Digest", actual.as_str())
}

// Names and encoding.

/// `reference.NameRegexp`: lowercase alphanumeric components joined by `.`, `_`, `__` or
/// dashes, separated by `/`.
pub fn valid_repository_name(name: &str) -> bool {
    !name.is_empty() && name.len() <= 255 && name.split('/').all(valid_name_component)
}

fn valid_name_component(component: &str) -> bool {
    let bytes = component.as_bytes();
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    if bytes.is_empty() || !alnum(bytes[0]) || !alnum(bytes[bytes.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < bytes.len() {
        if alnum(bytes[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && !alnum(bytes[i]) {
            i += 1;
        }
        let separator = &component[start..i];
        let allowed = separator == "."
            || separator == "_"
            || separator == "__"
            || separator.bytes().all(|b| b == b'-');
        if !allowed {
            return false;
        }
    }
    true
}

/// `reference.TagRegexp`: `[\w][\w.-]{0,127}`.
pub fn valid_tag(tag: &str) -> bool {
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let bytes = tag.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 128
        && word(bytes[0])
        && bytes[1..]
            .iter()
            .all(|&b| word(b) || b == b'.' || b == b'-')
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                match std::str::from_utf8(&bytes[i + 1..i + 3])
                    .ok()
                    .and_then(|hex| u8::from_str_radix(hex, 16).ok())
                {
                    Some(byte) => {
                        out.push(byte);
                        i += 3;
                    }
                    None => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            byte => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Go's `url.QueryEscape`.
pub fn query_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(byte as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_tags_follow_the_reference_grammar() {
        assert!(valid_repository_name("library/app"));
        assert!(valid_repository_name("a__b/c-d/e.f"));
        assert!(!valid_repository_name("Upper"));
        assert!(!valid_repository_name("a//b"));
        assert!(!valid_repository_name("a-"));
        assert!(valid_tag("v1.2-rc_3"));
        assert!(!valid_tag(".hidden"));
        assert!(!valid_tag("sha256:abc"));
    }

    #[test]
    fn query_values_round_trip_through_escape_and_decode() {
        let request = Request::get(format!("/v2/_catalog?n=5&last={}", query_escape("a/b c")));
        assert_eq!(request.query("last").as_deref(), Some("a/b c"));
        assert_eq!(request.query("n").as_deref(), Some("5"));
        assert_eq!(request.query("missing"), None);
    }

    #[test]
    fn a_mount_links_the_blob_into_the_target_repository() {
        let mut registry = Registry::default();
        let blob = super::super::images::layer(super::super::images::Format::Oci, "shared");
        super::super::images::upload_blob(&mut registry, "source", &blob).unwrap();
        let missing_source = handle(
            &mut registry,
            Request::post(format!(
                "/v2/target/blobs/uploads/?mount={}&from=nowhere",
                blob.digest
            )),
        );
        assert_eq!(
            missing_source.status, 202,
            "an unknown source falls back to an upload session"
        );
        let mounted = handle(
            &mut registry,
            Request::post(format!(
                "/v2/target/blobs/uploads/?mount={}&from=source",
                blob.digest
            )),
        );
        assert_eq!(mounted.status, 201);
        assert!(registry
            .storage
            .is_file(&paths::layer_link("target", &blob.digest)));
        assert!(!registry.cache.holds_in_repository("target", &blob.digest));
        let head = handle(
            &mut registry,
            Request::head(format!("/v2/target/blobs/{}", blob.digest)),
        );
        assert_eq!(head.status, 200);
    }

    #[test]
    fn an_upload_with_the_wrong_digest_is_refused_and_cancelled() {
        let mut registry = Registry::default();
        let started = handle(&mut registry, Request::post("/v2/repo/blobs/uploads/"));
        let location = started.header("Location").unwrap().to_owned();
        let wrong = Digest::of_bytes(b"something else");
        let put = handle(
            &mut registry,
            Request::put(format!("{location}?digest={wrong}")).with_body(b"bytes".to_vec()),
        );
        assert_eq!(
            (put.status, put.error_codes()),
            (400, vec!["DIGEST_INVALID".to_owned()])
        );
        assert!(registry.storage.blob_digests().is_empty());
        let retry = handle(
            &mut registry,
            Request::put(format!("{location}?digest={wrong}")),
        );
        assert_eq!(retry.error_codes(), vec!["BLOB_UPLOAD_UNKNOWN"]);
    }

    #[test]
    fn unknown_routes_answer_go_not_found() {
        let mut registry = Registry::default();
        let response = handle(&mut registry, Request::get("/v1/whatever"));
        assert_eq!(response.status, 404);
        assert!(response.error_codes().is_empty());
        assert_eq!(handle(&mut registry, Request::get("/v2/")).status, 200);
    }
}
