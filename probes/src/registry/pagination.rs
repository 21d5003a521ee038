//! Pagination of `/v2/_catalog` and `/tags/list`: the `n` page size and the `Link: <…>; rel="next"` header.

use http::HeaderMap;

/// The page size the walk asks for: distribution's default maximum. A larger `n` gets 400
/// PAGINATION_NUMBER_INVALID.
pub const PAGE_SIZE_ENTRIES: usize = 1000;
/// The page size to fall back to when a server with a lower maximum refuses [`PAGE_SIZE_ENTRIES`].
pub const FALLBACK_PAGE_SIZE_ENTRIES: usize = 100;
/// A bound on pages per listing, so a server that always says "next" cannot keep the walk forever.
pub const PAGE_LIMIT: usize = 10_000;

/// The path and query of the next page, when the response has a same-origin `rel="next"` link.
///
/// Links are relative (`</v2/_catalog?last=x&n=100>`) in distribution. An absolute link is followed only when it
/// points at the same origin; the walk never lets a server send it (or its credentials) elsewhere.
pub fn next_page(headers: &HeaderMap, origin: &str) -> Result<Option<String>, String> {
    for value in headers.get_all(http::header::LINK) {
        let text = value
            .to_str()
            .map_err(|_| "Link header is not ASCII".to_string())?;
        for link in text.split(',') {
            let mut parts = link.split(';');
            let target = parts.next().unwrap_or("").trim();
            let is_next = parts.any(|parameter| {
                let parameter = parameter.trim().replace(' ', "");
                parameter == "rel=\"next\"" || parameter == "rel=next"
            });
            if !is_next {
                continue;
            }
            let target = target
                .strip_prefix('<')
                .and_then(|rest| rest.strip_suffix('>'))
                .ok_or_else(|| format!("malformed Link target {target:?}"))?;
            let path = match target.strip_prefix(origin) {
                Some(rest) => rest,
                None if target.starts_with('/') && !target.starts_with("//") => target,
                None => return Err(format!("Link points to another origin: {target:?}")),
            };
            if path.bytes().any(|b| b.is_ascii_control() || b == b' ') || !path.starts_with('/') {
                return Err(format!("Link target is not a path: {path:?}"));
            }
            return Ok(Some(path.to_string()));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(link: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(http::header::LINK, link.parse().unwrap());
        headers
    }

    #[test]
    fn follows_relative_and_same_origin_links() {
        let origin = "http://127.0.0.1:5000";
        assert_eq!(
            next_page(
                &headers("</v2/_catalog?last=b&n=100>; rel=\"next\""),
                origin
            )
            .unwrap(),
            Some("/v2/_catalog?last=b&n=100".into())
        );
        assert_eq!(
            next_page(
                &headers("<http://127.0.0.1:5000/v2/_catalog?last=c>; rel=next"),
                origin
            )
            .unwrap(),
            Some("/v2/_catalog?last=c".into())
        );
        assert_eq!(next_page(&HeaderMap::new(), origin).unwrap(), None);
        assert_eq!(
            next_page(&headers("</x>; rel=\"prev\""), origin).unwrap(),
            None
        );
    }

    #[test]
    fn refuses_links_elsewhere() {
        let origin = "http://127.0.0.1:5000";
        assert!(next_page(
            &headers("<http://evil.invalid/v2/_catalog>; rel=\"next\""),
            origin
        )
        .is_err());
        assert!(next_page(&headers("<//evil.invalid/x>; rel=\"next\""), origin).is_err());
        assert!(next_page(&headers("/v2/_catalog; rel=\"next\""), origin).is_err());
    }
}
