//! TAXII 2.1 collections as feed sources (OASIS TAXII 2.1, sections 4 and 5): the discovery
//! URL leads to an API root, the API root's collection list to the collection, and the
//! collection's objects are read page by page.
//!
//! Polling is incremental: the first poll reads the whole collection; every later one asks
//! only for objects added after the last `X-TAXII-Date-Added-Last` the server sent. What has
//! been received is kept as one STIX bundle in the feed cache (the newest version of each
//! object), so a server that is down, or refuses the credentials, leaves the last good
//! collection in use.
//!
//! Invariants: `added_after` only moves forward once a whole poll succeeded and its result
//! loaded (it is committed with the cached copy); paging is bounded in pages, bytes and
//! repetition, so a server that pages forever ends with an error, not a hang.

use super::credentials::Credentials;
use super::fetch::{self, CacheMeta, FetchLimits, Fetched};
use serde_json::Value;
use std::collections::HashMap;
use std::path::Path;

/// The TAXII media type c2watch asks for and accepts (TAXII 2.1 §1.6.8).
pub const MEDIA_TYPE: &str = "application/taxii+json;version=2.1";

/// Objects asked for per page (servers may send fewer).
pub const DEFAULT_PAGE_SIZE: u32 = 1000;

/// Pages read in one poll before giving up.
const MAX_PAGES: u32 = 100_000;

/// A TAXII collection as the operator declared it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaxiiSource {
    /// The collection's id, or its title.
    pub collection: String,
    /// An API root URL (absolute, or relative to the discovery URL); default: the server's
    /// default API root, then each one it lists.
    pub api_root: Option<String>,
    pub page_size: u32,
}

/// One HTTP session against a TAXII server.
struct Client<'a> {
    agent: ureq::Agent,
    authorization: Option<String>,
    limits: &'a FetchLimits,
}

/// A TAXII response: its JSON and its `X-TAXII-Date-Added-Last` header.
struct Reply {
    json: Value,
    added_last: Option<String>,
    bytes: usize,
}

impl Client<'_> {
    fn get(&self, url: &str) -> Result<Reply, String> {
        let mut req = self.agent.get(url).header("Accept", MEDIA_TYPE);
        if let Some(a) = &self.authorization {
            req = req.header("Authorization", a);
        }
        let mut resp = req.call().map_err(|e| format!("{url}: {e}"))?;
        let status = resp.status().as_u16();
        if status == 406 {
            return Err(format!(
                "{url}: HTTP 406: the server does not serve TAXII 2.1 ({MEDIA_TYPE})"
            ));
        }
        if !(200..300).contains(&status) {
            return Err(fetch::status_error(url, status));
        }
        let header = |h: &str| {
            resp.headers()
                .get(h)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let content_type = header("content-type").unwrap_or_default();
        if !content_type.starts_with("application/taxii+json")
            && !content_type.starts_with("application/json")
        {
            return Err(format!(
                "{url}: the reply is `{content_type}`, not {MEDIA_TYPE}: is this a TAXII 2.1 server?"
            ));
        }
        let added_last = header("x-taxii-date-added-last");
        let body = resp
            .body_mut()
            .with_config()
            .limit(self.limits.max_bytes)
            .read_to_vec()
            .map_err(|e| format!("{url}: {e} (limit {} bytes)", self.limits.max_bytes))?;
        let json = serde_json::from_slice(&body)
            .map_err(|e| format!("{url}: the reply is not JSON: {e}"))?;
        Ok(Reply {
            json,
            added_last,
            bytes: body.len(),
        })
    }
}

/// `base` joined with `reference` (an absolute URL, an absolute path, or a relative path),
/// always ending in `/` (TAXII URLs do).
fn join(base: &str, reference: &str) -> String {
    let joined = if reference.starts_with("http://") || reference.starts_with("https://") {
        reference.to_string()
    } else if let Some(path) = reference.strip_prefix('/') {
        let scheme_end = base.find("://").map_or(0, |i| i + 3);
        let host_end = base[scheme_end..]
            .find('/')
            .map_or(base.len(), |i| scheme_end + i);
        format!("{}/{path}", &base[..host_end])
    } else {
        format!("{}/{reference}", base.trim_end_matches('/'))
    };
    if joined.ends_with('/') {
        joined
    } else {
        joined + "/"
    }
}

/// Percent-encodes a query parameter value (RFC 3986 unreserved characters pass).
fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~:".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The objects endpoint of the collection `src` names.
fn objects_url(client: &Client, discovery: &str, src: &TaxiiSource) -> Result<String, String> {
    let roots: Vec<String> = match &src.api_root {
        Some(r) => vec![join(discovery, r)],
        None => {
            let d = client.get(discovery)?.json;
            let mut roots: Vec<String> = Vec::new();
            let listed = d.get("api_roots").and_then(Value::as_array);
            if listed.is_none() && d.get("default").is_none() {
                return Err(format!(
                    "{discovery}: not a TAXII 2.1 discovery resource (no `api_roots`); give the discovery URL (often ending in /taxii2/) or set api_root"
                ));
            }
            let default = d.get("default").and_then(Value::as_str);
            for r in default
                .into_iter()
                .chain(listed.into_iter().flatten().filter_map(Value::as_str))
            {
                let r = join(discovery, r);
                if !roots.contains(&r) {
                    roots.push(r);
                }
            }
            roots
        }
    };
    if roots.is_empty() {
        return Err(format!("{discovery}: the server lists no API root"));
    }
    let mut seen = Vec::new();
    for root in &roots {
        let list = client.get(&format!("{root}collections/"))?.json;
        for c in list
            .get("collections")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let id = c.get("id").and_then(Value::as_str).unwrap_or_default();
            let title = c.get("title").and_then(Value::as_str).unwrap_or_default();
            if id == src.collection || title == src.collection {
                if c.get("can_read").and_then(Value::as_bool) == Some(false) {
                    return Err(format!(
                        "{root}collections/{id}/: the collection `{title}` may not be read with these credentials (can_read is false)"
                    ));
                }
                return Ok(format!("{root}collections/{}/objects/", encode(id)));
            }
            seen.push(format!("{id} ({title})"));
        }
    }
    Err(format!(
        "{discovery}: no collection `{}` (by id or title) in {}; the server has: {}",
        src.collection,
        roots.join(", "),
        if seen.is_empty() {
            "none you can see".to_string()
        } else {
            seen.join(", ")
        }
    ))
}

/// What one poll received.
struct Poll {
    objects: Vec<Value>,
    /// The `added_after` for the next poll.
    added_after: Option<String>,
}

/// Reads every page of objects added after `added_after`.
fn read_pages(
    client: &Client,
    url: &str,
    page_size: u32,
    added_after: Option<&str>,
) -> Result<Poll, String> {
    let mut objects = Vec::new();
    let mut newest = added_after.map(str::to_string);
    let mut after = added_after.map(str::to_string);
    let mut next: Option<String> = None;
    let mut total = 0usize;
    let mut stalled = 0;
    let mut seen: std::collections::HashSet<String> = std::collections::HashSet::new();
    for _ in 0..MAX_PAGES {
        let mut query = format!("{url}?limit={page_size}");
        if let Some(a) = &after {
            query.push_str(&format!("&added_after={}", encode(a)));
        }
        if let Some(n) = &next {
            query.push_str(&format!("&next={}", encode(n)));
        }
        let mut reply = client.get(&query)?;
        total += reply.bytes;
        if total as u64 > client.limits.max_bytes {
            return Err(format!(
                "{url}: the collection's pages exceed {} bytes in one poll",
                client.limits.max_bytes
            ));
        }
        let page = match reply.json.get_mut("objects").map(Value::take) {
            Some(Value::Array(a)) => a,
            _ => Vec::new(),
        };
        // Progress means objects (id and version) not seen earlier in this poll: a server
        // that sends the same page again and again gets three tries.
        let before = seen.len();
        for o in &page {
            let id = o.get("id").and_then(Value::as_str).unwrap_or_default();
            seen.insert(format!("{id}@{}", version_of(o)));
        }
        stalled = if seen.len() == before { stalled + 1 } else { 0 };
        objects.extend(page);
        if let Some(last) = &reply.added_last
            && newest.as_deref().is_none_or(|n| n < last.as_str())
        {
            newest = Some(last.clone());
        }
        if reply.json.get("more").and_then(Value::as_bool) != Some(true) {
            return Ok(Poll {
                objects,
                added_after: newest,
            });
        }
        if stalled >= 3 {
            return Err(format!(
                "{url}: the server says there is more but sent three pages in a row with nothing new: paging would not end"
            ));
        }
        match reply.json.get("next").and_then(Value::as_str) {
            // Servers may keep one `next` token for a whole paging session (medallion does).
            Some(n) => next = Some(n.to_string()),
            // TAXII 2.1 §3.4: without `next`, page on with the last date added.
            None => match &reply.added_last {
                Some(last) if after.as_deref() != Some(last.as_str()) => after = Some(last.clone()),
                _ => {
                    return Err(format!(
                        "{url}: `more` is true but the reply has neither `next` nor a new X-TAXII-Date-Added-Last: cannot page on"
                    ));
                }
            },
        }
    }
    Err(format!(
        "{url}: more than {MAX_PAGES} pages in one poll; giving up"
    ))
}

/// The cache key of a collection: the discovery URL and what names the collection.
pub fn source_key(discovery: &str, src: &TaxiiSource) -> String {
    format!("{discovery}#{}", src.collection)
}

/// The `modified` of a STIX object (its version), or `created` for objects without one.
fn version_of(o: &Value) -> &str {
    o.get("modified")
        .or_else(|| o.get("created"))
        .and_then(Value::as_str)
        .unwrap_or("")
}

/// `kept` (objects of the last good bundle) updated with `received`: newer versions replace
/// older ones by id, order of first appearance is kept.
fn merge(kept: Vec<Value>, received: Vec<Value>) -> Vec<Value> {
    let mut out: Vec<Value> = Vec::with_capacity(kept.len() + received.len());
    let mut at: HashMap<String, usize> = HashMap::new();
    for o in kept.into_iter().chain(received) {
        let Some(id) = o.get("id").and_then(Value::as_str).map(str::to_string) else {
            continue;
        };
        match at.get(&id) {
            Some(&i) => {
                if version_of(&o) >= version_of(&out[i]) {
                    out[i] = o;
                }
            }
            None => {
                at.insert(id, out.len());
                out.push(o);
            }
        }
    }
    out
}

/// Polls the collection `src` behind `discovery` for feed `name`; the result is staged in
/// the cache like an HTTP download (see [`fetch::fetch`]).
pub fn poll(
    discovery: &str,
    src: &TaxiiSource,
    name: &str,
    cache_dir: &Path,
    limits: &FetchLimits,
    auth: Option<&Credentials>,
) -> Result<Fetched, String> {
    let key = source_key(discovery, src);
    let meta = fetch::cached_meta(cache_dir, name, &key)?;
    let cached = meta.as_ref().map(|_| fetch::cached_path(cache_dir, name));
    let meta = meta.unwrap_or_default();
    let authorization = match auth.map(Credentials::authorization).transpose() {
        Ok(a) => a,
        Err(e) => return fetch::fall_back(cached, e),
    };
    let client = Client {
        agent: fetch::agent(limits),
        authorization,
        limits,
    };
    let polled = objects_url(&client, discovery, src).and_then(|url| {
        read_pages(
            &client,
            &url,
            src.page_size.max(1),
            meta.added_after.as_deref(),
        )
    });
    let poll = match polled {
        Ok(p) => p,
        Err(e) => return fetch::fall_back(cached, e),
    };
    let received = poll.objects.len();
    let pending = CacheMeta {
        url: key,
        added_after: poll.added_after,
        ..CacheMeta::default()
    };
    if received == 0
        && let Some(c) = cached
    {
        tracing::debug!("{discovery} {}: no new objects", src.collection);
        // Nothing new: the copy stays; only the next `added_after` may move on.
        fetch::write_meta(
            cache_dir,
            name,
            &CacheMeta {
                entries: meta.entries,
                ..pending
            },
        )?;
        return Ok(Fetched::NotModified(c));
    }
    let kept = match &cached {
        Some(c) => std::fs::read(c)
            .ok()
            .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
            .and_then(|mut v| v.get_mut("objects").map(Value::take))
            .and_then(|v| match v {
                Value::Array(a) => Some(a),
                _ => None,
            })
            .unwrap_or_default(),
        None => Vec::new(),
    };
    let objects = merge(kept, poll.objects);
    tracing::info!(
        "{discovery} {}: {received} object(s) received, {} in the collection copy",
        src.collection,
        objects.len()
    );
    let bundle = serde_json::json!({
        "type": "bundle",
        "id": "bundle--00000000-0000-4000-8000-000000000000",
        "objects": objects,
    });
    let bytes = serde_json::to_vec(&bundle).map_err(|e| e.to_string())?;
    fetch::stage(
        cache_dir,
        name,
        &bytes,
        &pending,
        cached.map(|c| (c, meta.entries)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_join_like_a_browser() {
        let d = "https://taxii.example:8443/taxii2/";
        assert_eq!(join(d, "/api1/"), "https://taxii.example:8443/api1/");
        assert_eq!(join(d, "api1"), "https://taxii.example:8443/taxii2/api1/");
        assert_eq!(
            join(d, "https://other.example/root"),
            "https://other.example/root/"
        );
        assert_eq!(encode("2026-01-01T00:00:00.5Z"), "2026-01-01T00:00:00.5Z");
        assert_eq!(encode("a+b/c d"), "a%2Bb%2Fc%20d");
    }

    #[test]
    fn newer_versions_replace_older_ones() {
        let o =
            |id: &str, m: &str, p: &str| serde_json::json!({"id": id, "modified": m, "pattern": p});
        let kept = vec![
            o("indicator--1", "2026-01-01T00:00:00Z", "a"),
            o("indicator--2", "2026-01-01T00:00:00Z", "b"),
        ];
        let got = merge(
            kept,
            vec![
                o("indicator--2", "2026-02-01T00:00:00Z", "b2"),
                o("indicator--1", "2025-12-01T00:00:00Z", "old"),
                o("indicator--3", "2026-02-01T00:00:00Z", "c"),
            ],
        );
        let p: Vec<&str> = got.iter().map(|v| v["pattern"].as_str().unwrap()).collect();
        assert_eq!(p, ["a", "b2", "c"]);
    }
}
