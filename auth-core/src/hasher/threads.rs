//! [`HashThreads`]: the hasher's own threads, started on demand and run at a lower scheduling
//! priority than the rest of the process.
//!
//! A hash keeps a CPU busy for tens of milliseconds. On the runtime's blocking pool it competes
//! as an equal with the threads that serve every other request, so a login storm on a small
//! machine delays the cheap requests (an authenticated `GET`) behind the expensive ones. On
//! threads of their own with a higher niceness (Linux), the scheduler runs a request-serving
//! thread first whenever both are ready, and the hashes take every CPU cycle that is left:
//! alone on the machine they run as fast as before.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::sync::oneshot;

use super::HashError;

/// The highest niceness the scheduler knows (the lowest priority).
pub(super) const MAX_NICENESS: u8 = 19;

/// One unit of work for a hashing thread.
type Job = Box<dyn FnOnce() + Send + 'static>;

/// A pool of at most `size` threads that run hashing jobs, each at the configured niceness.
///
/// Threads start when a job finds none idle, so a hasher that is never used starts none; they
/// stay until the pool is dropped (then each ends once its current job does). The caller caps
/// how many jobs are outstanding at `size` (the hasher's semaphore), so a job never waits for
/// a thread here.
pub(super) struct HashThreads {
    size: usize,
    niceness: u8,
    state: Mutex<State>,
    /// The queue the threads take their jobs from, shared by all of them.
    jobs: Arc<Mutex<Receiver<Job>>>,
}

struct State {
    sender: Sender<Job>,
    /// Threads started so far.
    started: usize,
    /// Jobs submitted and not yet finished. A thread starts whenever this exceeds `started`,
    /// so there are always as many threads as jobs (up to `size`). A job counts until its
    /// thread is ready for the next one, after its caller has its answer: the next job may
    /// then start one thread more than needed, never one fewer.
    outstanding: usize,
}

impl HashThreads {
    /// A pool of up to `size` threads (at least one) at `niceness` (capped at 19; `0` leaves
    /// the threads at the process's priority).
    pub(super) fn new(size: usize, niceness: u8) -> Self {
        let (sender, receiver) = channel();
        Self {
            size: size.max(1),
            niceness: niceness.min(MAX_NICENESS),
            state: Mutex::new(State {
                sender,
                started: 0,
                outstanding: 0,
            }),
            jobs: Arc::new(Mutex::new(receiver)),
        }
    }

    /// The niceness the threads run at.
    pub(super) fn niceness(&self) -> u8 {
        self.niceness
    }

    /// Runs `job` on one of the threads and waits for its result. A panic in `job` is an
    /// error, and the thread lives on.
    pub(super) async fn run<T: Send + 'static>(
        self: &Arc<Self>,
        job: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, HashError> {
        let (answer, answered) = oneshot::channel();
        self.submit(Box::new(move || {
            let _ = answer.send(catch_unwind(AssertUnwindSafe(job)));
        }))?;
        match answered.await {
            Ok(Ok(output)) => Ok(output),
            Ok(Err(_panic)) => Err(HashError::Task("the hashing job panicked".into())),
            Err(_dropped) => Err(HashError::Task("the hashing thread ended".into())),
        }
    }

    /// Queues `job`, starting a thread when every started one has a job.
    fn submit(self: &Arc<Self>, job: Job) -> Result<(), HashError> {
        let mut state = self.lock();
        if state.outstanding >= state.started && state.started < self.size {
            self.start(state.started)?;
            state.started += 1;
        }
        // With `size` threads busy, the job waits for the first to finish (only when a caller
        // runs more jobs at once than `size`).
        state
            .sender
            .send(job)
            .map_err(|_| HashError::Task("the hashing threads are gone".into()))?;
        state.outstanding += 1;
        Ok(())
    }

    /// Starts thread number `n`. It holds the queue and the pool's bookkeeping, not the pool
    /// itself, so dropping the pool ends it.
    fn start(self: &Arc<Self>, n: usize) -> Result<(), HashError> {
        let jobs = Arc::clone(&self.jobs);
        let pool = Arc::downgrade(self);
        let niceness = self.niceness;
        std::thread::Builder::new()
            .name(format!("auth-hash-{n}"))
            .spawn(move || {
                lower_priority(niceness);
                loop {
                    let next = jobs.lock().unwrap_or_else(PoisonError::into_inner).recv();
                    let Ok(job) = next else {
                        return; // the pool is gone
                    };
                    job();
                    match pool.upgrade() {
                        Some(pool) => pool.lock().outstanding -= 1,
                        None => return,
                    }
                }
            })
            .map(drop)
            .map_err(|err| HashError::Task(Box::new(err)))
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // The counters are updated in single statements: a panic cannot leave them half-done.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Raises the calling thread's niceness to `niceness` (Linux and Android, where each thread
/// has its own). Elsewhere, or when the system refuses, the thread keeps its priority: a
/// scheduling hint, never a reason to fail a login.
fn lower_priority(niceness: u8) {
    if niceness == 0 {
        return;
    }
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        // On Linux the niceness belongs to a thread: `setpriority` of this thread's id.
        let tid = rustix::thread::gettid();
        if let Err(err) = rustix::process::setpriority_process(Some(tid), i32::from(niceness)) {
            tracing::warn!(niceness, error = %err, "could not lower the priority of a hashing thread");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn jobs_run_and_threads_start_only_when_none_is_idle() {
        let pool = Arc::new(HashThreads::new(8, 0));
        assert_eq!(pool.lock().started, 0, "nothing starts before it is needed");
        for n in 0..10 {
            assert_eq!(pool.run(move || n * 2).await.unwrap(), n * 2);
        }
        // One job at a time: at most the previous job's thread is still finishing its
        // bookkeeping when the next one comes.
        assert!(pool.lock().started <= 2, "{}", pool.lock().started);
        let many = futures::future::join_all((0..16).map(|n| pool.run(move || n))).await;
        assert!(many.into_iter().all(|answer| answer.is_ok()));
        assert!(pool.lock().started <= 8);
    }

    #[tokio::test]
    async fn a_panicking_job_is_an_error_and_the_thread_lives_on() {
        let pool = Arc::new(HashThreads::new(1, 0));
        let answer = pool.run(|| -> u8 { panic!("boom") }).await;
        assert!(matches!(answer, Err(HashError::Task(_))));
        assert_eq!(pool.run(|| 7).await.unwrap(), 7);
        assert_eq!(pool.lock().started, 1);
    }

    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn the_threads_run_at_the_configured_niceness() {
        let pool = Arc::new(HashThreads::new(1, 7));
        // The thread's own niceness, read from the kernel: field 19 of /proc/thread-self/stat.
        let niceness = pool
            .run(|| {
                let stat = std::fs::read_to_string("/proc/thread-self/stat").unwrap();
                let after_name = &stat[stat.rfind(')').unwrap() + 2..];
                after_name
                    .split(' ')
                    .nth(16)
                    .unwrap()
                    .parse::<i32>()
                    .unwrap()
            })
            .await
            .unwrap();
        assert_eq!(niceness, 7);
    }

    #[test]
    fn niceness_is_capped() {
        assert_eq!(HashThreads::new(1, 40).niceness(), MAX_NICENESS);
    }
}
