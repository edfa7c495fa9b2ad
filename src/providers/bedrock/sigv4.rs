//! AWS Signature Version 4 for requests whose body is in memory.
//!
//! The signed headers are the minimum AWS requires (`host`, `x-amz-date`, and
//! `x-amz-security-token` for temporary credentials); other headers travel unsigned. Paths are
//! URI-encoded a second time in the canonical request, as every AWS service but S3 expects.

use ::http::header::{HeaderName, HeaderValue, AUTHORIZATION};
use ring::hmac;
use sha2::{Digest, Sha256};

use super::credentials::Credentials;
use crate::error::{Error, Result};
use crate::providers::http::percent_encode;

const ALGORITHM: &str = "AWS4-HMAC-SHA256";

/// One request to sign.
#[derive(Debug, Clone, Copy)]
pub struct Signable<'a> {
    /// `GET`, `POST`, ...
    pub method: &'a str,
    /// The URL the request goes to, its path already percent-encoded once.
    pub url: &'a reqwest::Url,
    /// The exact body bytes sent.
    pub payload: &'a [u8],
}

/// Where the signature is valid: the credential scope's region and service.
#[derive(Debug, Clone, Copy)]
pub struct Scope<'a> {
    /// `us-east-1`, ...
    pub region: &'a str,
    /// `bedrock`, `sts`, ...
    pub service: &'a str,
}

/// The headers that authenticate `req`: `x-amz-date`, `x-amz-security-token` (temporary
/// credentials only) and `authorization`, signed at `unix_secs`.
pub fn sign(
    req: Signable<'_>,
    creds: &Credentials,
    scope: Scope<'_>,
    unix_secs: u64,
) -> Result<Vec<(HeaderName, HeaderValue)>> {
    let amz_date = amz_date(unix_secs);
    let host = host_header(req.url)?;
    let mut headers: Vec<(&str, &str)> = vec![("host", &host), ("x-amz-date", &amz_date)];
    if let Some(token) = &creds.session_token {
        headers.push(("x-amz-security-token", token));
    }
    let signature = signature(req, &headers, creds.secret_access_key(), scope, &amz_date);
    let signed_headers = signed_header_names(&headers);
    let authorization = format!(
        "{ALGORITHM} Credential={}/{}, SignedHeaders={signed_headers}, Signature={signature}",
        creds.access_key_id,
        credential_scope(&amz_date[..8], scope)
    );
    let value = |v: &str| {
        HeaderValue::from_str(v).map_err(|_| {
            Error::Config("AWS credentials contain characters not allowed in headers".into())
        })
    };
    let mut out = vec![
        (HeaderName::from_static("x-amz-date"), value(&amz_date)?),
        (AUTHORIZATION, value(&authorization)?),
    ];
    if let Some(token) = &creds.session_token {
        let mut token = value(token)?;
        token.set_sensitive(true);
        out.push((HeaderName::from_static("x-amz-security-token"), token));
    }
    if let Some((_, auth)) = out.iter_mut().find(|(n, _)| *n == AUTHORIZATION) {
        auth.set_sensitive(true);
    }
    Ok(out)
}

/// The hex signature over the canonical request made of `headers` (lower-case names, sorted).
fn signature(
    req: Signable<'_>,
    headers: &[(&str, &str)],
    secret: &str,
    scope: Scope<'_>,
    amz_date: &str,
) -> String {
    let canonical = canonical_request(req, headers);
    let to_sign = format!(
        "{ALGORITHM}\n{amz_date}\n{}\n{}",
        credential_scope(&amz_date[..8], scope),
        hex(&Sha256::digest(canonical.as_bytes()))
    );
    let key = signing_key(secret, &amz_date[..8], scope);
    hex(hmac::sign(&key, to_sign.as_bytes()).as_ref())
}

fn canonical_request(req: Signable<'_>, headers: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(256);
    out.push_str(req.method);
    out.push('\n');
    out.push_str(&canonical_uri(req.url.path()));
    out.push('\n');
    out.push_str(&canonical_query(req.url.query().unwrap_or_default()));
    out.push('\n');
    for (name, value) in headers {
        out.push_str(name);
        out.push(':');
        out.push_str(value.trim());
        out.push('\n');
    }
    out.push('\n');
    out.push_str(&signed_header_names(headers));
    out.push('\n');
    out.push_str(&hex(&Sha256::digest(req.payload)));
    out
}

fn signed_header_names(headers: &[(&str, &str)]) -> String {
    headers
        .iter()
        .map(|(n, _)| *n)
        .collect::<Vec<_>>()
        .join(";")
}

fn credential_scope(date: &str, scope: Scope<'_>) -> String {
    format!("{date}/{}/{}/aws4_request", scope.region, scope.service)
}

/// `kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request")`.
fn signing_key(secret: &str, date: &str, scope: Scope<'_>) -> hmac::Key {
    let mut key = hmac::Key::new(hmac::HMAC_SHA256, format!("AWS4{secret}").as_bytes());
    for part in [date, scope.region, scope.service, "aws4_request"] {
        let tag = hmac::sign(&key, part.as_bytes());
        key = hmac::Key::new(hmac::HMAC_SHA256, tag.as_ref());
    }
    key
}

/// Each path segment encoded again (the path already carries one level of encoding).
fn canonical_uri(path: &str) -> String {
    if path.is_empty() {
        return "/".to_owned();
    }
    path.split('/')
        .map(percent_encode)
        .collect::<Vec<_>>()
        .join("/")
}

/// Query pairs decoded, re-encoded the AWS way and sorted by name, then value.
fn canonical_query(query: &str) -> String {
    let mut pairs: Vec<(String, String)> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (
                percent_encode(&percent_decode(k)),
                percent_encode(&percent_decode(v)),
            )
        })
        .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex_pair = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex_pair) {
            (b'%', Some(v)) => {
                out.push(v);
                i += 3;
            }
            (b'+', _) => {
                out.push(b' ');
                i += 1;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The `Host` header the client sends: the port only when it is not the scheme's default.
fn host_header(url: &reqwest::Url) -> Result<String> {
    let host = url
        .host_str()
        .ok_or_else(|| Error::Config(format!("bedrock URL has no host: {url}")))?;
    Ok(match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    })
}

/// `YYYYMMDD'T'HHMMSS'Z'` in UTC.
pub fn amz_date(unix_secs: u64) -> String {
    let days = i64::try_from(unix_secs / 86_400).unwrap_or(0);
    let rem = unix_secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}{m:02}{d:02}T{:02}{:02}{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (eras of 400 years, years
/// starting in March so that the leap day ends them).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The credentials of AWS's SigV4 test suite.
    fn suite_credentials(token: Option<&str>) -> Credentials {
        Credentials::new(
            "AKIDEXAMPLE".into(),
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".into(),
            token.map(str::to_owned),
            None,
        )
    }

    /// 2015-08-30T12:36:00Z, the suite's request time.
    const SUITE_TIME: u64 = 1_440_938_160;
    const SUITE_SCOPE: Scope<'static> = Scope {
        region: "us-east-1",
        service: "service",
    };

    fn authorization(method: &str, url: &str, token: Option<&str>) -> Vec<(String, String)> {
        let url = reqwest::Url::parse(url).unwrap();
        let req = Signable {
            method,
            url: &url,
            payload: b"",
        };
        sign(req, &suite_credentials(token), SUITE_SCOPE, SUITE_TIME)
            .unwrap()
            .into_iter()
            .map(|(n, v)| (n.to_string(), v.to_str().unwrap().to_owned()))
            .collect()
    }

    fn header<'a>(headers: &'a [(String, String)], name: &str) -> &'a str {
        &headers.iter().find(|(n, _)| n == name).unwrap().1
    }

    #[test]
    fn get_vanilla_matches_the_aws_test_suite() {
        let h = authorization("GET", "https://example.amazonaws.com/", None);
        assert_eq!(header(&h, "x-amz-date"), "20150830T123600Z");
        assert_eq!(
            header(&h, "authorization"),
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, \
             SignedHeaders=host;x-amz-date, \
             Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
        );
        assert!(h.iter().all(|(n, _)| n != "x-amz-security-token"));
    }

    #[test]
    fn post_vanilla_and_query_order_match_the_aws_test_suite() {
        let h = authorization("POST", "https://example.amazonaws.com/", None);
        assert!(header(&h, "authorization").ends_with(
            "Signature=5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"
        ));
        let h = authorization(
            "GET",
            "https://example.amazonaws.com/?Param2=value2&Param1=value1",
            None,
        );
        assert!(header(&h, "authorization").ends_with(
            "Signature=b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"
        ));
    }

    #[test]
    fn a_session_token_is_sent_and_signed() {
        let h = authorization("GET", "https://example.amazonaws.com/", Some("tok/en+="));
        assert_eq!(header(&h, "x-amz-security-token"), "tok/en+=");
        assert!(header(&h, "authorization")
            .contains("SignedHeaders=host;x-amz-date;x-amz-security-token,"));
        let plain = authorization("GET", "https://example.amazonaws.com/", None);
        assert_ne!(header(&h, "authorization"), header(&plain, "authorization"));
    }

    #[test]
    fn paths_are_encoded_twice_and_hosts_keep_their_port() {
        assert_eq!(
            canonical_uri("/model/anthropic.claude-v2%3A1/converse"),
            "/model/anthropic.claude-v2%253A1/converse"
        );
        assert_eq!(canonical_uri(""), "/");
        assert_eq!(canonical_query("b=2&a=x%20y&a=1"), "a=1&a=x%20y&b=2");
        let url = reqwest::Url::parse("http://127.0.0.1:8080/x").unwrap();
        assert_eq!(host_header(&url).unwrap(), "127.0.0.1:8080");
        let url = reqwest::Url::parse("https://bedrock-runtime.us-east-1.amazonaws.com/").unwrap();
        assert_eq!(
            host_header(&url).unwrap(),
            "bedrock-runtime.us-east-1.amazonaws.com"
        );
    }

    #[test]
    fn dates_are_utc_calendar_dates() {
        assert_eq!(amz_date(0), "19700101T000000Z");
        assert_eq!(amz_date(SUITE_TIME), "20150830T123600Z");
        // A leap day.
        assert_eq!(amz_date(1_709_210_096), "20240229T123456Z");
    }
}
