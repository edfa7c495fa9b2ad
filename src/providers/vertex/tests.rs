//! Vertex AI URL, body and token tests.
