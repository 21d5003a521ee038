//! A plain registry API client for drills and differential tests: any method, path and headers, over one
//! keep-alive connection that is reopened when the registry closes it.

use firedrill_probes::http::{HttpConnection, HttpError, Response};
use firedrill_probes::transport::RealStream;
use firedrill_probes::{Endpoint, TcpConnect};
use http::{HeaderName, HeaderValue, Method};

/// Manifests and error answers in tests are small; anything larger is refused.
const RESPONSE_LIMIT_BYTES: usize = 4 * 1024 * 1024;

/// One client of one registry.
pub struct ApiClient {
    endpoint: Endpoint,
    connection: Option<HttpConnection<RealStream>>,
}

impl ApiClient {
    pub fn new(endpoint: &Endpoint) -> ApiClient {
        ApiClient {
            endpoint: endpoint.clone(),
            connection: None,
        }
    }

    /// Sends one request and reads the whole answer.
    pub async fn request(
        &mut self,
        method: Method,
        path_and_query: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> Result<Response, HttpError> {
        let headers: Vec<(HeaderName, HeaderValue)> = headers
            .iter()
            .map(|(name, value)| {
                (
                    HeaderName::from_bytes(name.as_bytes()).expect("test header names are valid"),
                    HeaderValue::from_str(value).expect("test header values are valid"),
                )
            })
            .collect();
        let reusable = self
            .connection
            .as_ref()
            .is_some_and(HttpConnection::is_reusable);
        if !reusable {
            self.connection =
                Some(HttpConnection::open(&TcpConnect::plain(), &self.endpoint).await?);
        }
        let connection = self.connection.as_mut().expect("opened above");
        let result = connection
            .send_with_body(
                method,
                path_and_query,
                &headers,
                body.into(),
                RESPONSE_LIMIT_BYTES,
            )
            .await;
        if result.is_err() {
            self.connection = None;
        }
        result
    }

    /// The header's value as text, when present and valid.
    pub fn header<'a>(response: &'a Response, name: &str) -> Option<&'a str> {
        response
            .headers
            .get(name)
            .and_then(|value| value.to_str().ok())
    }
}
