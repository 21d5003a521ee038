//! A minimal registry client for pushing test content: monolithic blob uploads (POST then PUT) and manifest PUTs,
//! over the probes' keep-alive HTTP client.

use firedrill_probes::http::{HttpConnection, Response};
use firedrill_probes::registry::sha256_digest;
use firedrill_probes::transport::RealStream;
use firedrill_probes::{Endpoint, TcpConnect};
use http::{HeaderValue, Method};

/// Error answers are small; test manifests and configs too.
const RESPONSE_LIMIT_BYTES: usize = 1024 * 1024;

/// Why a push failed.
#[derive(Debug, thiserror::Error)]
pub enum PushError {
    #[error("HTTP to the registry failed: {0}")]
    Http(#[from] firedrill_probes::http::HttpError),
    #[error("{operation} answered HTTP {status}: {body}")]
    Refused {
        operation: String,
        status: u16,
        body: String,
    },
    #[error("the upload answer has no usable Location header")]
    NoLocation,
}

/// One keep-alive connection that pushes.
pub struct Pusher {
    connection: HttpConnection<RealStream>,
    endpoint: Endpoint,
}

impl Pusher {
    pub async fn connect(endpoint: &Endpoint) -> Result<Pusher, PushError> {
        let connection = HttpConnection::open(&TcpConnect::plain(), endpoint).await?;
        Ok(Pusher {
            connection,
            endpoint: endpoint.clone(),
        })
    }

    async fn send(
        &mut self,
        method: Method,
        path: &str,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> Result<Response, PushError> {
        let mut headers = Vec::new();
        if let Some(content_type) = content_type {
            let value = HeaderValue::from_str(content_type).expect("media types are header-safe");
            headers.push((http::header::CONTENT_TYPE, value));
        }
        Ok(self
            .connection
            .send_with_body(method, path, &headers, body.into(), RESPONSE_LIMIT_BYTES)
            .await?)
    }

    fn expect(operation: &str, response: &Response, status: u16) -> Result<(), PushError> {
        if response.status == status {
            return Ok(());
        }
        Err(PushError::Refused {
            operation: operation.to_string(),
            status: response.status,
            body: String::from_utf8_lossy(&response.body)
                .chars()
                .take(500)
                .collect(),
        })
    }

    /// Uploads a blob to `repository` and returns its digest.
    pub async fn push_blob(
        &mut self,
        repository: &str,
        content: &[u8],
    ) -> Result<String, PushError> {
        let digest = sha256_digest(content);
        let start = self
            .send(
                Method::POST,
                &format!("/v2/{repository}/blobs/uploads/"),
                None,
                Vec::new(),
            )
            .await?;
        Self::expect("blob upload start", &start, 202)?;
        let location = start
            .headers
            .get(http::header::LOCATION)
            .and_then(|value| value.to_str().ok())
            .ok_or(PushError::NoLocation)?;
        // Distribution answers with an absolute URL on its own origin; only the path and query are sent back.
        let origin = format!("http://{}", self.endpoint.authority());
        let path_and_query = location.strip_prefix(origin.as_str()).unwrap_or(location);
        if !path_and_query.starts_with('/') {
            return Err(PushError::NoLocation);
        }
        let separator = if path_and_query.contains('?') {
            '&'
        } else {
            '?'
        };
        let put_path = format!("{path_and_query}{separator}digest={digest}");
        let finish = self
            .send(
                Method::PUT,
                &put_path,
                Some("application/octet-stream"),
                content.to_vec(),
            )
            .await?;
        Self::expect("blob upload finish", &finish, 201)?;
        Ok(digest)
    }

    /// Puts a manifest under `reference` (a tag or its digest) and returns its digest.
    pub async fn push_manifest(
        &mut self,
        repository: &str,
        reference: &str,
        media_type: &str,
        body: &[u8],
    ) -> Result<String, PushError> {
        let response = self
            .send(
                Method::PUT,
                &format!("/v2/{repository}/manifests/{reference}"),
                Some(media_type),
                body.to_vec(),
            )
            .await?;
        Self::expect("manifest put", &response, 201)?;
        Ok(sha256_digest(body))
    }
}
