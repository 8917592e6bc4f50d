//! Pages fetched ahead of the sync, each request on its own task.
//!
//! The sync handles page k (de-duplicates, writes, checkpoints) while page k+1 is on the wire,
//! and page k+2 is asked for as soon as page k+1's body is in: the source announces the next
//! cursor from the raw tail of the body ([`crate::page::peek_next_cursor`]) before parsing it.
//! So neither parsing nor output sits between one response and the next request; the network
//! alone sets the pace of a backfill.
//!
//! Nothing here touches state. A page fetched ahead is handled, like any page, only after the
//! checkpoint of the page before it, so its failure (or a refused cursor) resumes from exactly
//! where the previous page left the state. An announced cursor is a guess until the page is
//! parsed: the sync keeps a page fetched ahead only if it was asked for with the cursor the
//! parsed page gives. Dropping a [`PageFetch`] aborts its request.

use std::sync::Arc;

use tokio::sync::oneshot;
use tokio_util::task::AbortOnDropHandle;

use super::{CursorHint, FetchError, LogsQuery, PageRequest, PageSource};
use crate::page::Page;

/// One page request, running.
#[derive(Debug)]
pub struct PageFetch {
    cursor: Option<String>,
    task: AbortOnDropHandle<Result<Page, FetchError>>,
    announced: oneshot::Receiver<String>,
}

impl PageFetch {
    /// Starts fetching the page of `query` at `cursor`.
    pub fn start(
        source: &Arc<dyn PageSource>,
        query: &LogsQuery,
        cursor: Option<String>,
    ) -> PageFetch {
        let (hint, announced) = CursorHint::channel();
        let task = {
            let source = Arc::clone(source);
            let query = query.clone();
            let cursor = cursor.clone();
            tokio::spawn(async move {
                source
                    .fetch(PageRequest::new(&query, cursor.as_deref()).announcing(&hint))
                    .await
            })
        };
        PageFetch {
            cursor,
            task: AbortOnDropHandle::new(task),
            announced,
        }
    }

    /// The cursor this page was asked for with.
    pub fn cursor(&self) -> Option<&str> {
        self.cursor.as_deref()
    }

    /// Waits for the page. If the source announces the page's next cursor before the page is
    /// ready, and `worth_asking` says so (a cursor already used is not), the request for that
    /// next page starts at once and is returned with the page.
    pub async fn finish(
        self,
        source: &Arc<dyn PageSource>,
        query: &LogsQuery,
        worth_asking: impl Fn(&str) -> bool,
    ) -> (Result<Page, FetchError>, Option<PageFetch>) {
        let PageFetch {
            mut task,
            mut announced,
            ..
        } = self;
        let mut ahead = None;
        let mut listening = true;
        loop {
            tokio::select! {
                biased;
                next = &mut announced, if listening => {
                    listening = false;
                    if let Ok(next) = next
                        && worth_asking(&next)
                    {
                        ahead = Some(PageFetch::start(source, query, Some(next)));
                    }
                }
                joined = &mut task => {
                    let page = joined.unwrap_or_else(|e| {
                        Err(FetchError::Fatal(format!("the page request task failed: {e}")))
                    });
                    return (page, ahead);
                }
            }
        }
    }
}
