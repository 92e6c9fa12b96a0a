//! Work spread over a fixed number of threads (never a thread per item), the results in the
//! items' order: OCI layers read in parallel, many targets applied in one run.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// `work(index, item)` on every item by at most `workers` threads, each taking the next item
/// when it is done with one; the results in the items' order. Fewer than two items (or one
/// worker) run on the calling thread. A panic in `work` is passed on.
pub fn in_pool<T: Sync, R: Send>(
    items: &[T],
    workers: usize,
    work: impl Fn(usize, &T) -> R + Sync,
) -> Vec<R> {
    let workers = workers.min(items.len());
    if workers < 2 {
        return items.iter().enumerate().map(|(i, t)| work(i, t)).collect();
    }
    let next = AtomicUsize::new(0);
    let slots: Vec<Mutex<Option<R>>> = items.iter().map(|_| Mutex::new(None)).collect();
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(item) = items.get(i) else { break };
                let r = work(i, item);
                *slots[i].lock().unwrap_or_else(|p| p.into_inner()) = Some(r);
            });
        }
    });
    // Every slot is filled: a worker that panicked made the scope panic above.
    slots
        .into_iter()
        .filter_map(|m| m.into_inner().unwrap_or_else(|p| p.into_inner()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_keep_the_items_order() {
        let items: Vec<u64> = (0..100).collect();
        for workers in [1, 2, 8, 200] {
            let out = in_pool(&items, workers, |i, x| {
                // Uneven work, so that threads finish out of order.
                std::thread::sleep(std::time::Duration::from_micros((x % 7) * 50));
                (i as u64, x * 2)
            });
            let want: Vec<(u64, u64)> = items.iter().map(|x| (*x, x * 2)).collect();
            assert_eq!(out, want, "{workers} workers");
        }
        assert!(in_pool(&[] as &[u8], 4, |_, x| *x).is_empty());
    }
}
