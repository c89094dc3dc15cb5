//! Ctrl-C and SIGTERM during a run: the first request lets the current step finish, after which
//! the [`Session`](crate::session::Session) writes a checkpoint and a summary with status
//! `"interrupted"` and the binary exits with code 130 ([`crate::cli::exit`]); a second request
//! exits at once (code 130, nothing written).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Once;

static REQUESTS: AtomicUsize = AtomicUsize::new(0);
static INSTALL: Once = Once::new();

/// Installs the handler for SIGINT and SIGTERM (once per process; later calls do nothing).
pub fn install() {
    INSTALL.call_once(|| {
        let installed = ctrlc::set_handler(|| {
            if REQUESTS.fetch_add(1, Ordering::SeqCst) == 0 {
                eprintln!(
                    "\ninterrupted: finishing this step, then writing a checkpoint (press Ctrl-C again to exit at once)"
                );
            } else {
                eprintln!("\ninterrupted twice: exiting without a checkpoint");
                std::process::exit(130);
            }
        });
        if let Err(e) = installed {
            eprintln!("warning: no Ctrl-C handler ({e}); Ctrl-C will stop runs without a checkpoint");
        }
    });
}

/// Whether Ctrl-C or SIGTERM was received since the process started.
pub fn requested() -> bool {
    REQUESTS.load(Ordering::SeqCst) > 0
}
