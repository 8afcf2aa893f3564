//! The simulated tenant: Microsoft 365 in memory, with its errors and its silent damage.
