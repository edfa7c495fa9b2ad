//! Translation tests over fixtures in Gemini's wire format.
