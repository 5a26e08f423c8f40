//! Stopping an apply on SIGINT / SIGTERM (Ctrl-C, a cancelled CI job, `timeout`).
//!
//! The first signal asks the apply to stop: the executor starts no new step
//! and gives the steps already running a bounded time to finish (a
//! submission then lands in the journal as done rather than in flight), the
//! workflow marks the state dirty and returns, which releases the lock (the
//! local file lock, the Kubernetes Lease), and the CLI names what was left
//! undone and exits 130 / 143. A second signal exits at once. Whatever was
//! abandoned is journaled as in flight and settled by the next apply, as
//! after a crash.

use tokio::sync::watch;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signal {
    Int,
    Term,
}

impl Signal {
    pub fn name(self) -> &'static str {
        match self {
            Signal::Int => "SIGINT",
            Signal::Term => "SIGTERM",
        }
    }

    /// The shell's convention: 128 + the signal number.
    pub fn exit_code(self) -> u8 {
        match self {
            Signal::Int => 130,
            Signal::Term => 143,
        }
    }
}

/// Whether (and by which signal) the apply was asked to stop. The default
/// never fires (library callers and tests that do not listen).
#[derive(Clone, Debug)]
pub struct Interrupt {
    rx: watch::Receiver<Option<Signal>>,
}

impl Default for Interrupt {
    fn default() -> Self {
        Interrupt::channel().1
    }
}

/// Fires an [`Interrupt`].
#[derive(Debug)]
pub struct Trigger {
    tx: watch::Sender<Option<Signal>>,
}

impl Trigger {
    pub fn fire(&self, signal: Signal) {
        self.tx.send_if_modified(|s| {
            let first = s.is_none();
            if first {
                *s = Some(signal);
            }
            first
        });
    }
}

impl Interrupt {
    pub fn channel() -> (Trigger, Interrupt) {
        let (tx, rx) = watch::channel(None);
        (Trigger { tx }, Interrupt { rx })
    }

    /// The signal received, if any.
    pub fn requested(&self) -> Option<Signal> {
        *self.rx.borrow()
    }

    /// Resolves once a signal is received (never, if none can be).
    pub async fn wait(&self) -> Signal {
        let mut rx = self.rx.clone();
        loop {
            if let Some(s) = *rx.borrow_and_update() {
                return s;
            }
            if rx.changed().await.is_err() {
                // The trigger is gone: no signal can come any more.
                std::future::pending::<()>().await;
            }
        }
    }
}

/// Listen for SIGINT and SIGTERM on the current runtime: the first fires the
/// returned [`Interrupt`], the second exits the process at once with its
/// code. `on_first` is called once, when the first arrives (to tell the user).
pub fn listen(on_first: impl Fn(Signal) + Send + 'static) -> std::io::Result<Interrupt> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut int = signal(SignalKind::interrupt())?;
    let mut term = signal(SignalKind::terminate())?;
    let (trigger, interrupt) = Interrupt::channel();
    tokio::spawn(async move {
        let mut first = true;
        loop {
            let s = tokio::select! {
                Some(()) = int.recv() => Signal::Int,
                Some(()) = term.recv() => Signal::Term,
                else => return,
            };
            if !first {
                eprintln!("\n{} again: exiting now.", s.name());
                std::process::exit(i32::from(s.exit_code()));
            }
            first = false;
            on_first(s);
            trigger.fire(s);
        }
    });
    Ok(interrupt)
}
