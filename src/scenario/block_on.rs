//! A minimal executor for the scenario driver.
//!
//! The driver runs the engine with a [`SimHost`](crate::runtime::SimHost)
//! on a [`VirtualClock`](crate::runtime::VirtualClock): the simulated host
//! answers every send at once and time only moves when the driver sets the
//! clock, so the engine's futures never wait on anything outside this
//! thread. That needs no tokio runtime (none is built, so embedders can run
//! scenarios inside their own runtime's tests, or with none at all), and it
//! keeps a simulation deterministic: nothing but the driver decides when
//! time passes.

use std::future::Future;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

/// Runs a future to completion on this thread. The simulated host never
/// waits, so this only ever polls; it parks the thread if a future is pending.
pub(crate) fn block_on<F: Future>(future: F) -> F::Output {
    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut context = Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    loop {
        match future.as_mut().poll(&mut context) {
            Poll::Ready(output) => return output,
            Poll::Pending => std::thread::park(),
        }
    }
}
