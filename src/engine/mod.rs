//! Runs, journal, executor, retries, timers, scheduler. Never imports lapin, reqwest, sled or axum.
