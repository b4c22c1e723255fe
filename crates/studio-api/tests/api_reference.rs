//! Keeps `docs/api.md` (the API reference people read) true to the OpenAPI document the server
//! serves (generated from the handlers): every route the server describes is documented, every
//! documented route exists, and every field of every JSON body is named on the page.

use std::collections::BTreeSet;

/// Routes the page documents that are not in the OpenAPI document itself.
/// Served, documented, but not API routes of the OpenAPI document: the document itself and the
/// dashboard's page and files (`dashboard.rs`).
const SERVED_OUTSIDE_THE_DOCUMENT: &[&str] =
    &["GET /api/v1/openapi.json", "GET /", "GET /dashboard/app.js"];

const METHODS: &[&str] = &["GET", "POST", "PUT", "PATCH", "DELETE"];

fn reference() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/api.md");
    std::fs::read_to_string(path).expect("docs/api.md is readable")
}

fn openapi() -> serde_json::Value {
    serde_json::to_value(studio_api::openapi::document()).expect("the document serializes")
}

/// `METHOD /path` for every operation of the OpenAPI document.
fn served_routes(doc: &serde_json::Value) -> BTreeSet<String> {
    let mut routes = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("path item").keys() {
            let method = method.to_uppercase();
            if METHODS.contains(&method.as_str()) {
                routes.insert(format!("{method} {path}"));
            }
        }
    }
    routes.extend(SERVED_OUTSIDE_THE_DOCUMENT.iter().map(|r| (*r).to_owned()));
    routes
}

/// Every inline code span of the page that reads `METHOD /path` (a query string is not part of it).
fn documented_routes(page: &str) -> BTreeSet<String> {
    page.split('`')
        .skip(1)
        .step_by(2)
        .filter_map(|span| {
            let (method, path) = span.split_once(' ')?;
            let path = path.split('?').next()?;
            (METHODS.contains(&method) && path.starts_with('/') && !path.contains(' '))
                .then(|| format!("{method} {path}"))
        })
        .collect()
}

#[test]
fn every_served_route_is_documented_and_every_documented_route_is_served() {
    let served = served_routes(&openapi());
    let documented = documented_routes(&reference());
    let undocumented: Vec<_> = served.difference(&documented).collect();
    let unserved: Vec<_> = documented.difference(&served).collect();
    assert!(
        undocumented.is_empty() && unserved.is_empty(),
        "docs/api.md is out of step with the OpenAPI document:\n  served but not documented: \
         {undocumented:?}\n  documented but not served: {unserved:?}"
    );
}

#[test]
fn every_field_of_every_json_body_is_named_in_the_reference() {
    let doc = openapi();
    let page = reference();
    let mut missing = Vec::new();
    for (schema, body) in doc["components"]["schemas"].as_object().expect("schemas") {
        for field in body["properties"]
            .as_object()
            .into_iter()
            .flat_map(|p| p.keys())
        {
            let quoted = format!("\"{field}\"");
            let code = format!("`{field}`");
            if !page.contains(&quoted) && !page.contains(&code) {
                missing.push(format!("{schema}.{field}"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "fields the API speaks that docs/api.md never names: {missing:?}"
    );
}

#[test]
fn the_route_reader_finds_routes_and_ignores_other_code() {
    let page = "Call `POST /api/v1/x/{id}/y?follow=true`, not `POST` alone, nor `GET a b`.";
    assert_eq!(
        documented_routes(page),
        BTreeSet::from(["POST /api/v1/x/{id}/y".to_owned()])
    );
}
