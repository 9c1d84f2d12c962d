//! The dashboard's CSV downloads. A listing's export ([`paged`]) is streamed: its header
//! line, then its rows a page at a time (keyset pagination, newest first), so an export of
//! any size never sits in memory. Each export says only how to read a page and how to write
//! a row ([`Pages`]); the payments' and the voucher sales' exports share the rest.

use std::future::Future;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use futures_util::{StreamExt, stream};
use jiff::tz::TimeZone;

use crate::model::{Role, TenantId};
use crate::store::{Store, StoreResult};

/// Rows per query of a paged export.
const BATCH: u32 = 500;

/// What one paged CSV export reads and how it writes each row.
pub(super) trait Pages: Send + 'static {
    /// One row of the export.
    type Row: Send;
    /// Where a page starts: just after the row it names.
    type Cursor: Send;

    /// Up to `limit` rows, newest first, after `after` (from the newest when `None`).
    fn page(&self, after: Option<&Self::Cursor>, limit: u32) -> impl Future<Output = StoreResult<Vec<Self::Row>>> + Send;
    /// The cursor of the page after `row`.
    fn cursor(row: &Self::Row) -> Self::Cursor;
    /// `row` as one CSV line, ending in CRLF.
    fn line(&self, row: &Self::Row) -> String;
}

/// What the dashboard's exports read with: the tenant's store and the filter asked for, and
/// how rows are shown (times in the tenant's zone; codes and phones as the role may see them).
pub(super) struct TenantRows<F> {
    /// Where the rows are.
    pub store: Arc<dyn Store>,
    /// Whose rows: every read is scoped to this tenant.
    pub tenant: TenantId,
    /// Which of them.
    pub filter: F,
    /// The tenant's time zone, for the rows' times.
    pub tz: TimeZone,
    /// The role of the member asking, for what the rows may show.
    pub role: Role,
}

/// How far an export has got.
struct Export<P: Pages> {
    pages: P,
    tenant: TenantId,
    file_name: &'static str,
    after: Option<P::Cursor>,
    done: bool,
}

impl<P: Pages> Export<P> {
    /// The next page of rows as CSV text, and the export after it; a failed read ends the
    /// stream with an error (the client sees a cut download, not a short file that looks whole).
    async fn next(mut self) -> Option<(Result<Bytes, std::io::Error>, Self)> {
        if self.done {
            return None;
        }
        let rows = match self.pages.page(self.after.as_ref(), BATCH).await {
            Ok(rows) => rows,
            Err(error) => {
                tracing::error!(%error, tenant = %self.tenant, file = self.file_name, "a CSV export stopped");
                self.done = true;
                return Some((Err(std::io::Error::other("the export failed")), self));
            }
        };
        self.done = rows.len() < BATCH as usize;
        self.after = rows.last().map(P::cursor);
        let text: String = rows.iter().map(|row| self.pages.line(row)).collect();
        Some((Ok(Bytes::from(text)), self))
    }
}

/// The download `file_name` of the tenant's rows `pages` reads: `header` (ending in CRLF),
/// then every row, streamed.
pub(super) fn paged<P: Pages>(pages: P, tenant: TenantId, file_name: &'static str, header: &'static str) -> Response {
    let export = Export { pages, tenant, file_name, after: None, done: false };
    let header_line = stream::once(async move { Ok::<_, std::io::Error>(Bytes::from_static(header.as_bytes())) });
    let rows = stream::unfold(export, Export::next);
    let mut response = Body::from_stream(header_line.chain(rows)).into_response();
    set_download_headers(&mut response, file_name);
    response
}

/// Marks `response` as the CSV file `file_name`, to be saved rather than shown or cached.
pub(super) fn set_download_headers(response: &mut Response, file_name: &str) {
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
    let disposition = HeaderValue::from_str(&format!("attachment; filename=\"{file_name}\""));
    headers.insert(header::CONTENT_DISPOSITION, disposition.unwrap_or(HeaderValue::from_static("attachment")));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
}

#[cfg(test)]
mod tests {
    use axum::body::to_bytes;

    use super::*;
    use crate::store::StoreError;

    /// Rows `count - 1` down to 0 (newest first); with `fail_after`, every read after that
    /// many pages fails.
    struct Numbers {
        count: u32,
        fail_after: Option<usize>,
        reads: std::sync::atomic::AtomicUsize,
    }

    impl Pages for Numbers {
        type Row = u32;
        type Cursor = u32;

        async fn page(&self, after: Option<&u32>, limit: u32) -> StoreResult<Vec<u32>> {
            let read = self.reads.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            if self.fail_after.is_some_and(|pages| read >= pages) {
                return Err(StoreError::Corrupt("the test's store fails".into()));
            }
            let below = after.copied().unwrap_or(self.count);
            Ok((0..below).rev().take(limit as usize).collect())
        }

        fn cursor(row: &u32) -> u32 {
            *row
        }

        fn line(&self, row: &u32) -> String {
            format!("{row}\r\n")
        }
    }

    fn numbers(count: u32, fail_after: Option<usize>) -> Numbers {
        Numbers { count, fail_after, reads: Default::default() }
    }

    #[tokio::test]
    async fn every_row_once_newest_first_across_pages() {
        for count in [0, 1, BATCH - 1, BATCH, BATCH + 1, 2 * BATCH, 2 * BATCH + 7] {
            let response = paged(numbers(count, None), TenantId::random(), "numbers.csv", "n\r\n");
            let body = to_bytes(response.into_body(), usize::MAX).await.expect("the export completes");
            let expected: String = std::iter::once("n\r\n".to_string()).chain((0..count).rev().map(|n| format!("{n}\r\n"))).collect();
            assert_eq!(String::from_utf8(body.to_vec()).unwrap(), expected, "{count} rows");
        }
    }

    #[tokio::test]
    async fn a_failed_read_cuts_the_download() {
        let response = paged(numbers(3 * BATCH, Some(1)), TenantId::random(), "numbers.csv", "n\r\n");
        assert!(to_bytes(response.into_body(), usize::MAX).await.is_err(), "a download that looks whole");
    }

    #[test]
    fn downloads_are_named_csv_files_not_cached() {
        let mut response = Response::new(Body::empty());
        set_download_headers(&mut response, "voucher-sales.csv");
        let headers = response.headers();
        assert_eq!(headers[header::CONTENT_TYPE], "text/csv; charset=utf-8");
        assert_eq!(headers[header::CONTENT_DISPOSITION], "attachment; filename=\"voucher-sales.csv\"");
        assert_eq!(headers[header::CACHE_CONTROL], "no-store");
    }
}
