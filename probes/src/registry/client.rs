//! The registry client: a pool of keep-alive connections, per-request deadlines, credentials, and a request count.

use super::auth::{AuthError, Credentials};
use crate::endpoint::Endpoint;
use crate::http::{HttpConnection, HttpError, Response};
use crate::transport::Connect;
use http::{HeaderName, HeaderValue, Method};
use std::cell::{Cell, RefCell};
use std::time::Duration;

/// Why one request produced no response.
#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq)]
pub enum RequestError {
    #[error("connect failed: {0}")]
    Connect(String),
    #[error("connect timed out after {timeout_ms} ms")]
    ConnectTimeout { timeout_ms: u64 },
    #[error("no complete response within {timeout_ms} ms")]
    Timeout { timeout_ms: u64 },
    #[error("response body exceeds the {limit_bytes}-byte limit")]
    BodyTooLarge { limit_bytes: usize },
    #[error("{0}")]
    Protocol(String),
}

/// Talks to one registry. Connections are reused; at most as many exist as requests were ever in flight at once,
/// which the walk bounds with its concurrency.
pub struct RegistryClient<'a, C: Connect> {
    connector: &'a C,
    endpoint: Endpoint,
    authorization: Option<(HeaderName, HeaderValue)>,
    request_timeout: Duration,
    idle: RefCell<Vec<HttpConnection<C::Stream>>>,
    requests: Cell<u64>,
}

impl<'a, C: Connect> RegistryClient<'a, C> {
    pub fn new(
        connector: &'a C,
        endpoint: Endpoint,
        credentials: &Credentials,
        request_timeout: Duration,
    ) -> Result<Self, AuthError> {
        Ok(Self {
            connector,
            endpoint,
            authorization: credentials.header()?,
            request_timeout,
            idle: RefCell::new(Vec::new()),
            requests: Cell::new(0),
        })
    }

    /// Requests sent so far, retries included.
    pub fn requests(&self) -> u64 {
        self.requests.get()
    }

    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// Sends one GET or HEAD to `path_and_query` (below the endpoint's base path) and reads the body within
    /// `body_limit_bytes`. Redirects are returned as they are, never followed.
    pub async fn request(
        &self,
        method: Method,
        path_and_query: String,
        accept: Option<&'static str>,
        body_limit_bytes: usize,
    ) -> Result<Response, RequestError> {
        let path = format!("{}{path_and_query}", self.endpoint.base_path);
        let mut headers = Vec::with_capacity(2);
        if let Some(accept) = accept {
            headers.push((http::header::ACCEPT, HeaderValue::from_static(accept)));
        }
        if let Some(authorization) = &self.authorization {
            headers.push(authorization.clone());
        }
        let timeout_ms = self.request_timeout.as_millis() as u64;
        // A kept-alive connection may have been closed by the server while idle; that is discovered only when it
        // is used, so a failure on a reused connection earns exactly one retry on a fresh one.
        for attempt in 0..2 {
            let reused_connection = self.idle.borrow_mut().pop();
            let reused = reused_connection.is_some();
            let mut connection = match reused_connection {
                Some(connection) => connection,
                None => self.open(timeout_ms).await?,
            };
            self.requests.set(self.requests.get() + 1);
            let exchange = tokio::time::timeout(
                self.request_timeout,
                connection.send(method.clone(), &path, &headers, body_limit_bytes),
            )
            .await;
            match exchange {
                Ok(Ok(response)) => {
                    if connection.is_reusable() {
                        self.idle.borrow_mut().push(connection);
                    }
                    return Ok(response);
                }
                Ok(Err(HttpError::BodyTooLarge { limit_bytes })) => {
                    return Err(RequestError::BodyTooLarge { limit_bytes })
                }
                Ok(Err(_)) if reused && attempt == 0 => continue,
                Ok(Err(error)) => return Err(RequestError::Protocol(error.to_string())),
                Err(_) => return Err(RequestError::Timeout { timeout_ms }),
            }
        }
        unreachable!("the second attempt always returns")
    }

    async fn open(&self, timeout_ms: u64) -> Result<HttpConnection<C::Stream>, RequestError> {
        match tokio::time::timeout(
            self.request_timeout,
            HttpConnection::open(self.connector, &self.endpoint),
        )
        .await
        {
            Err(_) => Err(RequestError::ConnectTimeout { timeout_ms }),
            Ok(Err(HttpError::Connect(error))) => Err(RequestError::Connect(error.to_string())),
            Ok(Err(error)) => Err(RequestError::Protocol(error.to_string())),
            Ok(Ok(connection)) => Ok(connection),
        }
    }
}
