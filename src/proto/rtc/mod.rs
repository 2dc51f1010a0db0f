//! rtc
