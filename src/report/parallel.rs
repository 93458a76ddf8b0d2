//! Work split over a few threads, in order: the one helper the renderer
//! (pages, model pages) and the site writer (files written and deleted) share.

use crate::error::Result;

/// `f` of every item, in item order, the items split into `threads` chunks
/// run at once. The first error, in item order, wins; a panic in a worker is
/// passed on as it is.
pub fn in_parallel<T: Sync, R: Send>(
    items: &[T],
    threads: usize,
    f: impl Fn(&T) -> Result<R> + Sync,
) -> Result<Vec<R>> {
    let chunk = items.len().div_ceil(threads.max(1)).max(1);
    let f = &f;
    let parts: Vec<Result<Vec<R>>> = std::thread::scope(|scope| {
        let handles: Vec<_> = items
            .chunks(chunk)
            .map(|part| scope.spawn(move || part.iter().map(f).collect()))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    });
    let mut out = Vec::with_capacity(items.len());
    for part in parts {
        out.extend(part?);
    }
    Ok(out)
}

/// The machine's cores, at most `cap`.
pub fn cores(cap: usize) -> usize {
    std::thread::available_parallelism()
        .map_or(1, std::num::NonZeroUsize::get)
        .clamp(1, cap.max(1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;

    #[test]
    fn results_keep_item_order_and_the_first_error_wins() {
        let items: Vec<u32> = (0..100).collect();
        assert_eq!(
            in_parallel(&items, 4, |i| Ok(i * 2)).unwrap(),
            (0..100).map(|i| i * 2).collect::<Vec<_>>()
        );
        let err = in_parallel(&items, 3, |&i| {
            if i == 40 || i == 90 {
                Err(Error::Usage(format!("bad {i}")))
            } else {
                Ok(i)
            }
        })
        .unwrap_err();
        assert_eq!(err.to_string(), "bad 40");
        assert!(in_parallel(&[] as &[u32], 4, |i| Ok(*i))
            .unwrap()
            .is_empty());
    }
}
